"""SSN helpers: perform_regression, eval_ap and load_localize_proposal_file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidact.errors import AnnotationError, InputError
from vidact.localization import eval_ap, load_localize_proposal_file, perform_regression

from . import _reference as ref
from ._strategies import SCORES, segments

# --- perform_regression -------------------------------------------------------------------------


def test_regression_hand_case() -> None:
    # centre 0.4, duration 0.4 -> centre 0.4 + 0.4 * 0.1 = 0.44, duration 0.4 * 2 = 0.8.
    out = perform_regression([[0.2, 0.6, 0.9, 0.1, math.log(2)]])
    np.testing.assert_allclose(out, [[0.04, 0.84, 0.9, 0.1, math.log(2)]], rtol=1e-12)


def test_regression_clips_and_carries_columns() -> None:
    out = perform_regression([[0.1, 0.9, 0.5, 0.2, math.log(3), 7.0]])
    # centre 0.5 + 0.8 * 0.2 = 0.66, duration 2.4 -> [-0.54, 1.86] clipped to [0, 1].
    np.testing.assert_allclose(out, [[0.0, 1.0, 0.5, 0.2, math.log(3), 7.0]])
    assert perform_regression(np.zeros((0, 5))).shape == (0, 5)


@given(
    st.lists(
        st.tuples(segments(), SCORES, st.floats(-1, 1), st.floats(-2, 2)).map(
            lambda t: [t[0][0] / 2, t[0][1] / 2, t[1], t[2], t[3]]
        ),
        max_size=20,
    )
)
def test_regression_matches_reference(rows: list) -> None:
    got = perform_regression(np.array(rows).reshape(-1, 5))
    np.testing.assert_allclose(
        got, ref.perform_regression(rows).reshape(-1, 5), rtol=1e-12, atol=1e-15
    )
    assert np.all((got[:, :2] >= 0) & (got[:, :2] <= 1)) and np.all(got[:, 0] <= got[:, 1])


def test_regression_rejects_short_rows() -> None:
    with pytest.raises(
        ValueError, match=r"perform_regression: detections: expected shape \(N, >=5\)"
    ):
        perform_regression([[0.0, 1.0, 0.5]])


# --- eval_ap: hand-computed ---------------------------------------------------------------------


def _det(video: str, start: float, end: float, score: float, cls: int = 0) -> list:
    return [video, cls, start, end, score]


def test_eval_ap_hand_cases() -> None:
    gts = {0: {"v": [[0.0, 10.0], [20.0, 30.0]]}}
    # One hit then one miss: precision [1, 1/2], recall [1/2, 1/2] -> AP = 1/2 * 1 = 0.5.
    hit_first = {0: [_det("v", 0, 10, 0.9), _det("v", 40, 50, 0.5)]}
    # Miss first: precision [0, 1/2], recall [0, 1/2] -> AP = 1/2 * 1/2 = 0.25.
    miss_first = {0: [_det("v", 0, 10, 0.5), _det("v", 40, 50, 0.9)]}
    both = {0: [_det("v", 0, 10, 0.9), _det("v", 20, 30, 0.8)]}
    assert eval_ap(hit_first, gts, [0.5]).tolist() == [[0.5]]
    assert eval_ap(miss_first, gts, [0.5]).tolist() == [[0.25]]
    assert eval_ap(both, gts, [0.5]).tolist() == [[1.0]]


def test_eval_ap_thresholds_and_locking() -> None:
    gts = {0: {"v": [[0.0, 10.0], [5.0, 15.0]]}}
    # The first detection takes [0, 10] (IoU 1). The duplicate finds it taken and falls back to
    # [5, 15] (IoU 1/3): a hit at 0.3, a miss at 0.5. A detection in another video always misses.
    dets = {0: [_det("v", 0, 10, 0.9), _det("v", 0, 10, 0.8), _det("w", 0, 10, 0.7)]}
    # At 0.3: hits, hits, miss -> AP 1. At 0.5: precision [1, 1/2, 1/3], recall 1/2 -> AP 0.5.
    np.testing.assert_array_equal(eval_ap(dets, gts, np.array([0.3, 0.5])), [[1.0, 0.5]])


def test_eval_ap_classes_without_detections_or_ground_truth() -> None:
    gts = {0: {"v": [[0.0, 1.0]]}}  # no entry for class 1 or 2
    dets = {0: [_det("v", 0, 1, 0.9)], 1: [], 2: [_det("v", 0, 1, 0.9, cls=2)]}
    out = eval_ap(dets, gts, [0.5, 0.7])
    assert out[0].tolist() == [1.0, 1.0]
    assert out[1].tolist() == [0.0, 0.0]  # no detections: 0
    assert np.isnan(out[2]).all()  # detections but no ground truth: recall 0 / 0, as in MMAction


def test_eval_ap_zero_length_segments_match_anywhere() -> None:
    """Reference quirk: a point detection 'matches' a point ground truth (IoU NaN) anywhere."""
    gts = {0: {"v": [[3.0, 3.0]]}}
    assert eval_ap({0: [_det("v", 8.0, 8.0, 0.9)]}, gts, [0.5]).tolist() == [[1.0]]


def test_eval_ap_accepts_lists_and_float32_rounding() -> None:
    # IoU 0.7 exactly in float64 rounds to float32 0.699999988: it fails a float64 0.7 threshold
    # but passes float32(0.7) (which is 0.699999988 too), exactly as in the reference.
    dets = [[_det("v", 0.0, 0.7, 1.0)]]
    gts = [{"v": [[0.0, 1.0]]}]
    out = eval_ap(dets, gts, [0.7, float(np.float32(0.7))])
    assert out.tolist() == [[0.0, 1.0]]


def test_eval_ap_shapes_and_validation() -> None:
    assert eval_ap({}, {}, [0.5]).shape == (0, 1)
    assert eval_ap({0: [_det("v", 0, 1, 0.5)]}, {0: {"v": [[0, 1]]}}, []).shape == (1, 0)
    with pytest.raises(ValueError, match="no entry 1"):
        eval_ap({0: [], 2: []}, {}, [0.5])
    with pytest.raises(ValueError, match="detections of class 0: expected rows"):
        eval_ap({0: [["v", 0, 1.0]]}, {}, [0.5])
    with pytest.raises(ValueError, match="row 0, column 2 is nan"):
        eval_ap({0: [_det("v", 0, 1, float("nan"))]}, {}, [0.5])
    with pytest.raises(
        ValueError, match="ground truth of class 0, video 'v': segment 0 ends before"
    ):
        eval_ap({0: [_det("v", 0, 1, 0.5)]}, {0: {"v": [[2.0, 1.0]]}}, [0.5])
    with pytest.raises(ValueError, match="iou_range"):
        eval_ap({}, {}, [[0.5]])


# --- eval_ap: agreement with the slow reference -------------------------------------------------

VIDEOS = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def class_data(draw: st.DrawFn) -> tuple[list, dict]:
    """Detections and ground truth of one class over a few videos, with unmatched videos too."""
    gts = {}
    for video in draw(st.lists(st.sampled_from(["a", "b", "c"]), unique=True)):
        gts[video] = [list(draw(segments())) for _ in range(draw(st.integers(0, 5)))]
    dets = []
    for _ in range(draw(st.integers(0, 25))):
        if dets and draw(st.integers(0, 5)) == 0:
            dets.append(list(draw(st.sampled_from(dets))))
        elif gts and any(gts.values()) and draw(st.booleans()):  # near a ground truth
            video = draw(st.sampled_from([v for v in gts if gts[v]]))
            start, end = draw(st.sampled_from(gts[video]))
            jitter = draw(st.sampled_from([0.0, 0.0, 0.125, -0.125, 0.3]))
            dets.append([video, 0, start, max(start, end + jitter), draw(SCORES)])
        else:
            start, end = draw(segments())
            dets.append([draw(VIDEOS), 0, start, end, draw(SCORES)])
    return dets, gts


@settings(
    max_examples=120, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(classes=st.lists(class_data(), min_size=1, max_size=3))
def test_eval_ap_matches_reference(classes: list) -> None:
    detections = {c: dets for c, (dets, _) in enumerate(classes)}
    gt_by_cls = {c: gts for c, (_, gts) in enumerate(classes)}
    iou_range = list(np.arange(0.1, 1.0, 0.1)) + [0.0]
    got = eval_ap(detections, gt_by_cls, iou_range)
    np.testing.assert_array_equal(got, ref.eval_ap(detections, gt_by_cls, iou_range))


def test_eval_ap_matches_reference_seeded() -> None:
    rng = np.random.default_rng(5)
    detections, gt_by_cls = {}, {}
    for c in range(4):
        gt_by_cls[c] = {}
        for v in range(12):
            starts = rng.uniform(0, 0.9, size=rng.integers(0, 6))
            gt_by_cls[c][f"video_{v}"] = [[s, s + rng.uniform(0.01, 0.1)] for s in starts]
        rows = []
        for v in range(14):  # two videos without ground truth
            bounds = np.sort(rng.uniform(0, 1, size=(rng.integers(0, 40), 2)), axis=1)
            rows += [[f"video_{v}", c, s, e, rng.uniform()] for s, e in bounds]
            for s, e in gt_by_cls[c].get(f"video_{v}", []):  # near-misses and hits
                rows.append([f"video_{v}", c, s + rng.normal(0, 0.01), e + 0.02, rng.uniform()])
        detections[c] = rows
    iou_range = np.arange(0.1, 1.0, 0.1)
    got = eval_ap(detections, gt_by_cls, iou_range)
    np.testing.assert_array_equal(got, ref.eval_ap(detections, gt_by_cls, list(iou_range)))
    assert np.all((got >= 0) & (got <= 1))
    assert np.all(np.diff(got, axis=1) <= 1e-7)  # stricter thresholds never help


# --- load_localize_proposal_file ---------------------------------------------------------------

EXAMPLE = """# 0
video_validation_0000202
5666
1
3
8 130 185
8 832 1136
8 1303 1381
5
8 0.0620 0.0620 790 5671
8 0.1656 0.1656 790 2619
8 0.0833 0.0833 3945 5671
8 0.0960 0.0960 4173 5671
8 0.0614 0.0614 3327 5671
# 1
video_test_0000004
100.5
2
0
1
3 0.5 0.25 10 20
"""


def test_load_proposal_file(tmp_path: Path) -> None:
    path = tmp_path / "proposals.txt"
    path.write_text(EXAMPLE)
    videos = load_localize_proposal_file(path)
    assert [v[:2] for v in videos] == [
        ("video_validation_0000202", 5666),
        ("video_test_0000004", 201),
    ]
    assert videos[0][2] == [["8", "130", "185"], ["8", "832", "1136"], ["8", "1303", "1381"]]
    assert videos[0][3][1] == ["8", "0.1656", "0.1656", "790", "2619"]
    assert videos[1][2] == [] and videos[1][3] == [["3", "0.5", "0.25", "10", "20"]]
    assert videos == ref.load_localize_proposal_file(str(path))


def test_load_proposal_file_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "proposals.txt"
    path.write_text("\n" + EXAMPLE.replace("# 1\n", "\n# 1\n\n") + "\n\n")
    assert load_localize_proposal_file(path) == load_localize_proposal_file_text(tmp_path, EXAMPLE)
    (tmp_path / "empty.txt").write_text("")
    assert load_localize_proposal_file(tmp_path / "empty.txt") == []


def load_localize_proposal_file_text(tmp_path: Path, text: str) -> list:
    path = tmp_path / "plain.txt"
    path.write_text(text)
    return load_localize_proposal_file(path)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("# 0\nvid\n100\n1\nthree\n", 5, "expected the number of ground truths, got 'three'"),
        (
            "# 0\nvid\n100\n1\n2\n1 0 10\n",
            6,
            "video block ends before the ground truth line 2 of 2",
        ),
        ("# 0\nvid\n100\n1\n1\n1 0\n0\n", 6, "expected a ground truth line 'label start end'"),
        ("# 0\nvid\n100\n1\n1\n1 a 10\n0\n", 6, "expected a ground truth line"),
        ("# 0\nvid\n100\n1\n0\n1\n1 0.5 0.5 10 nan\n", 7, "expected a proposal line"),
        (
            "# 0\nvid\n100\n1\n0\n0\n1 0 10\n",
            7,
            "unexpected line after the proposals of video 'vid'",
        ),
        ("# 0\nvid\nmany\n", 3, "expected the number of frames"),
        ("# 0\nvid\n100\n", 3, "video block ends before the fps"),
        ("# 0\nvid\n100\n1\n-1\n", 5, "negative number of ground truths"),
    ],
)
def test_load_proposal_file_errors_name_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(EXAMPLE + text.replace("# 0", "# 2"))
    first_line_of_bad_block = EXAMPLE.count("\n")
    with pytest.raises(
        AnnotationError, match=f"{path}:{first_line_of_bad_block + line}: {message}"
    ):
        load_localize_proposal_file(path)


def test_load_proposal_file_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_localize_proposal_file(tmp_path / "nope.txt")


FIELD = st.one_of(st.integers(0, 9999).map(str), st.floats(0, 1).map(lambda x: f"{x:.4f}"))


@st.composite
def proposal_file(draw: st.DrawFn) -> str:
    blocks = []
    for i in range(draw(st.integers(0, 4))):
        gts = [
            f"{draw(st.integers(0, 20))} {draw(FIELD)} {draw(FIELD)}"
            for _ in range(draw(st.integers(0, 4)))
        ]
        props = [
            " ".join([str(draw(st.integers(0, 20)))] + [draw(FIELD) for _ in range(4)])
            for _ in range(draw(st.integers(0, 4)))
        ]
        frames, fps = draw(st.integers(0, 9000)), draw(st.sampled_from(["1", "2.5", "30"]))
        lines = [
            f"# {i}",
            f"video_{i}",
            str(frames),
            fps,
            str(len(gts)),
            *gts,
            str(len(props)),
            *props,
        ]
        blocks.append("\n".join(lines) + "\n")
    return "".join(blocks)


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=proposal_file())
def test_load_proposal_file_matches_reference(tmp_path: Path, text: str) -> None:
    path = tmp_path / "generated.txt"
    path.write_text(text)
    assert load_localize_proposal_file(path) == ref.load_localize_proposal_file(str(path))
