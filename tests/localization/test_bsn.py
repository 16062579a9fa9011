"""PGM (`generate_candidate_proposals`) and BSP (`generate_bsp_feature`) against loop-by-loop references.

The references below follow MMAction's `bsn_utils` definitions one proposal and one point at a time,
in plain Python floats (float64) where MMAction 1.2 computes in float64 (NumPy 1.x promotes its
float32 scalars), and float32 where it rounds to float32 (the TEM and proposal files are read as
float32, and differences of two float32 values stay float32). Tie rule (vidact's): stable sort,
reversed.
"""

from __future__ import annotations

import bisect
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidact.errors import AnnotationError, InputError
from vidact.io.proposals import (
    PGM_COLUMNS,
    TEM_COLUMNS,
    read_pgm_proposals,
    read_tem_results,
    write_csv,
    write_pgm_proposals,
    write_tem_results,
)
from vidact.localization import generate_bsp_feature, generate_candidate_proposals
from vidact.localization.bsn import bsp_feature, candidate_proposals

# ---- slow references -------------------------------------------------------------------------


def ref_candidates(scores: list[float], tscale: int, peak_threshold: float) -> list[int]:
    """Positions that are candidate boundaries: ends of the curve, strict peaks, or > threshold * max."""
    n = len(scores)
    chosen = {0, n - 1}
    top = max(scores)
    for idx in range(1, tscale - 1):
        if scores[idx] > scores[idx - 1] and scores[idx] > scores[idx + 1]:
            chosen.add(idx)
        elif scores[idx] > peak_threshold * top:
            chosen.add(idx)
    return [idx for idx in range(tscale) if idx in chosen]


def ref_pgm(tem: np.ndarray, tscale: int, peak_threshold: float, video_info: dict) -> np.ndarray:
    start = [float(v) for v in tem[:, 1]]
    end = [float(v) for v in tem[:, 2]]
    gap = 1.0 / tscale
    rows = []
    for e in ref_candidates(end, tscale, peak_threshold):
        for s in ref_candidates(start, tscale, peak_threshold):
            tmin, tmax = gap / 2 + gap * s, gap / 2 + gap * e
            if tmin < tmax:
                rows.append([tmin, tmax, start[s], end[e], start[s] * end[e]])
    order = sorted(range(len(rows)), key=lambda i: rows[i][4])[::-1]  # stable, reversed
    rows = [rows[i] for i in order]
    seconds = float(video_info["feature_frame"]) / video_info["duration_frame"] * video_info["duration_second"]
    gts = [(a["segment"][0] / seconds, a["segment"][1] / seconds) for a in video_info["annotations"]]
    out = []
    for tmin, tmax, *rest in rows:
        ious, ioas = [0.0], [0.0]
        if gts:
            ious, ioas = [], []
        for g0, g1 in gts:
            inter = max(min(tmax, g1) - max(tmin, g0), 0.0)
            ious.append(inter / ((tmax - tmin) - inter + g1 - g0))
            ioas.append(inter / (tmax - tmin))
        out.append([tmin, tmax, *rest, max(ious), max(ioas)])
    return np.array(out, dtype=np.float64).reshape(-1, 7)


def ref_interp(x: float, xp: list[float], fp: list[float]) -> float:
    if x <= xp[0]:
        return fp[0]
    if x >= xp[-1]:
        return fp[-1]
    j = bisect.bisect_right(xp, x) - 1
    return fp[j] + (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]) * (x - xp[j])


def ref_samples(lo: float, length: float, num_sample: int, num_interp: int, xp, fp) -> list[float]:
    spacing = length / (num_sample - 1)
    points = [lo - spacing / 2 + spacing / num_interp * i for i in range(num_sample * num_interp + 1)]
    values = [ref_interp(t, xp, fp) for t in points]
    return [sum(values[i * num_interp:(i + 1) * num_interp + 1]) / (num_interp + 1) for i in range(num_sample)]


def ref_bsp(tem: np.ndarray, proposals: np.ndarray, ratio=0.2, n_start=8, n_end=8, n_action=16, n_interp=3):
    scale = len(tem)
    extend = int(scale / 4 + 10)
    gap = float(np.float32(tem[0, 4]) - np.float32(tem[0, 3]))
    last = float(tem[-1, 4])
    xp = ([-gap / 2 - (extend - 1 - i) * gap for i in range(extend)] + [gap / 2 + i * gap for i in range(scale)]
          + [gap / 2 + last + i * gap for i in range(extend)])
    fp = [0.0] * extend + [float(v) for v in tem[:, 0]] + [0.0] * extend
    rows = []
    for tmin32, tmax32 in proposals[:, :2]:
        tlen = float(np.float32(tmax32) - np.float32(tmin32))
        tmin, tmax = float(tmin32), float(tmax32)
        s0, s1 = tmin - tlen * ratio, tmin + tlen * ratio
        e0, e1 = tmax - tlen * ratio, tmax + tlen * ratio
        rows.append(ref_samples(tmin, tlen, n_action, n_interp, xp, fp)
                    + ref_samples(s0, s1 - s0, n_start, n_interp, xp, fp)
                    + ref_samples(e0, e1 - e0, n_end, n_interp, xp, fp))
    return np.array(rows, dtype=np.float64).reshape(-1, n_action + n_start + n_end)


# ---- inputs ----------------------------------------------------------------------------------

LEVELS = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0])  # plateaus and ties
PROBS = st.one_of(LEVELS, st.floats(0, 1, allow_subnormal=False))


@st.composite
def tem_tables(draw, min_rows: int = 3, max_rows: int = 40) -> np.ndarray:
    """(T, 5) float32 TEM results; curves mix plateaus, exact ties and peaks at either end."""
    num_rows = draw(st.integers(min_rows, max_rows))
    cols = [draw(st.lists(PROBS, min_size=num_rows, max_size=num_rows)) for _ in range(3)]
    for col in cols[1:]:
        if draw(st.booleans()):
            col[0] = 1.0  # a peak at the first position
        if draw(st.booleans()):
            col[-1] = max(col)  # a (tied) maximum at the last position
    tmin = np.arange(num_rows) / num_rows
    return np.column_stack([*cols, tmin, tmin + 1 / num_rows]).astype(np.float32)


@st.composite
def video_infos(draw) -> dict:
    duration = draw(st.floats(1, 500))
    frames = draw(st.integers(16, 20000))
    feature = draw(st.sampled_from([frames, frames // 16 * 16 or 16]))
    segments = []
    for _ in range(draw(st.integers(0, 4))):
        a, b = draw(st.floats(0, duration)), draw(st.floats(0, duration))
        segments.append({"segment": [min(a, b), max(a, b)], "label": "x"})
    return {"video_name": "v", "duration_second": duration, "duration_frame": frames, "feature_frame": feature,
            "annotations": segments}


def _write_tem(folder: Path, name: str, tem: np.ndarray) -> None:
    write_tem_results(folder / f"{name}.csv", tem)


# ---- PGM -------------------------------------------------------------------------------------


def _normalised(info: dict) -> tuple[list[float], list[float]]:
    seconds = float(info["feature_frame"]) / info["duration_frame"] * info["duration_second"]
    return ([a["segment"][0] / seconds for a in info["annotations"]],
            [a["segment"][1] / seconds for a in info["annotations"]])


@settings(max_examples=120)
@given(tem=tem_tables(), info=video_infos(), threshold=st.one_of(LEVELS, st.floats(0, 1)), data=st.data())
def test_candidate_proposals_match_the_reference(tem, info, threshold, data):
    tscale = data.draw(st.integers(max(2, len(tem) - 3), len(tem)))  # the reference ignores rows past tscale
    got = candidate_proposals(tem[:, 1], tem[:, 2], tscale, threshold, *_normalised(info))
    expected = ref_pgm(tem, tscale, threshold, info)
    assert got.dtype == np.float64 and got.shape == expected.shape
    np.testing.assert_array_equal(got[:, :5], expected[:, :5])
    np.testing.assert_allclose(got[:, 5:], expected[:, 5:], rtol=0, atol=1e-12)


@settings(max_examples=20)
@given(tem=tem_tables(), info=video_infos(), threshold=LEVELS)
def test_generate_candidate_proposals_reads_the_tem_file(tem, info, threshold):
    with tempfile.TemporaryDirectory() as folder:
        _write_tem(Path(folder), "v", tem)
        got = generate_candidate_proposals([0], [info], folder, len(tem), threshold)["v"]
    expected = ref_pgm(tem, len(tem), threshold, info)
    np.testing.assert_array_equal(got[:, :5], expected[:, :5])
    np.testing.assert_allclose(got[:, 5:], expected[:, 5:], rtol=0, atol=1e-12)


def test_candidates_by_hand(tmp_path):
    # position:  0    1    2    3    4    5
    start = [0.2, 0.6, 0.6, 0.1, 0.9, 0.3]  # plateau at 1-2 (no strict peak), peak at 4, ends always
    end = [0.1, 0.2, 0.1, 0.3, 0.2, 0.5]  # peaks at 1 and 3
    tem = np.column_stack([np.zeros(6), start, end, np.arange(6) / 6, np.arange(1, 7) / 6]).astype(np.float32)
    _write_tem(tmp_path, "v", tem)
    info = {"video_name": "v", "duration_second": 6.0, "duration_frame": 6, "feature_frame": 6,
            "annotations": [{"segment": [0.5, 3.5]}]}
    got = generate_candidate_proposals([0], [info], tmp_path, 6, 0.7)["v"]
    # start candidates {0, 4, 5} (0.6 is not > 0.7 * 0.9), end candidates {0, 1, 3, 5}
    pairs = {(round(r[0] * 12), round(r[1] * 12)) for r in got}  # t = (2 pos + 1) / 12
    assert pairs == {(1, 3), (1, 7), (1, 11), (9, 11)}
    assert list(got[:, 4]) == sorted(got[:, 4], reverse=True)
    row = got[(np.round(got[:, 0] * 12) == 1) & (np.round(got[:, 1] * 12) == 7)][0]
    assert row[4] == pytest.approx(float(np.float32(0.2)) * float(np.float32(0.3)))
    # [1/12, 7/12] against the ground truth [0.5/6, 3.5/6] = [1/12, 7/12]
    assert row[5] == pytest.approx(1.0) and row[6] == pytest.approx(1.0)


def test_equal_scores_keep_the_documented_order(tmp_path):
    tem = np.column_stack([np.zeros(4), [0.5] * 4, [0.5] * 4, np.arange(4) / 4, np.arange(1, 5) / 4])
    _write_tem(tmp_path, "v", tem.astype(np.float32))
    info = {"video_name": "v", "duration_second": 4.0, "duration_frame": 4, "feature_frame": 4, "annotations": []}
    got = generate_candidate_proposals([0], [info], tmp_path, 4, 0.0)["v"]
    # every pair ties; the reference's pair order is (end, start) ascending; reversed here
    pos = [(round(r[0] * 8 - 1) // 2, round(r[1] * 8 - 1) // 2) for r in got]
    assert pos == [(2, 3), (1, 3), (0, 3), (1, 2), (0, 2), (0, 1)]
    assert (got[:, 5:] == 0).all()  # no ground truth: no overlap


def test_result_dict_and_several_videos(tmp_path):
    rng = np.random.default_rng(0)
    infos = []
    for name in ("a", "b", "c"):
        tem = np.column_stack([rng.random((10, 3)), np.arange(10) / 10, np.arange(1, 11) / 10])
        _write_tem(tmp_path, name, tem.astype(np.float32))
        infos.append({"video_name": name, "duration_second": 10.0, "duration_frame": 300, "feature_frame": 288,
                      "annotations": [{"segment": [1.0, 4.0]}]})
    shared: dict = {}
    got = generate_candidate_proposals([2, 0], infos, tmp_path, 10, 0.5, result_dict=shared)
    assert list(got) == ["c", "a"] and set(shared) == {"a", "c"}
    assert shared["a"] is got["a"]


def test_pgm_bad_inputs(tmp_path):
    info = {"video_name": "v", "duration_second": 0.0, "duration_frame": 10, "feature_frame": 10, "annotations": []}
    with pytest.raises(InputError, match=r"v\.csv: no such file"):
        generate_candidate_proposals([0], [info], tmp_path, 10, 0.5)
    _write_tem(tmp_path, "v", np.full((10, 5), 0.5, np.float32))
    with pytest.raises(InputError, match="fewer than the temporal scale 20"):
        generate_candidate_proposals([0], [info], tmp_path, 20, 0.5)
    info["annotations"] = [{"segment": [1, 2]}]
    with pytest.raises(AnnotationError, match="'v': zero duration"):
        generate_candidate_proposals([0], [info], tmp_path, 10, 0.5)
    write_csv(tmp_path / "v.csv", ["action", "start", "tmin", "tmax"], np.zeros((10, 4)))
    with pytest.raises(InputError, match=r"v\.csv: missing column 'end'"):
        generate_candidate_proposals([0], [info], tmp_path, 10, 0.5)
    with pytest.raises(NotImplementedError):
        generate_candidate_proposals([0], [info], tmp_path, 10, 0.5, tem_results_ext=".json")


# ---- BSP -------------------------------------------------------------------------------------


@st.composite
def proposal_tables(draw, max_rows: int = 12) -> np.ndarray:
    """(N, 7) float32 proposals: on the TEM grid, arbitrary, past the video's ends, or zero-length."""
    rows = []
    for _ in range(draw(st.integers(0, max_rows))):
        a = draw(st.one_of(st.integers(0, 20).map(lambda k: k / 20), st.floats(-0.3, 1.3)))
        b = draw(st.one_of(st.just(a), st.floats(-0.3, 1.3)))
        rows.append([min(a, b), max(a, b), 0.5, 0.5, 0.25, 0.0, 0.0])
    return np.array(rows, np.float32).reshape(-1, 7)


SAMPLES = st.tuples(st.integers(2, 9), st.integers(2, 9), st.integers(2, 17), st.integers(1, 4))


@settings(max_examples=60)
@given(tem=tem_tables(min_rows=2), proposals=proposal_tables(), samples=SAMPLES,
       ratio=st.sampled_from([0.0, 0.2, 0.5, 0.33]))
def test_bsp_feature_matches_the_reference(tem, proposals, samples, ratio):
    n_start, n_end, n_action, n_interp = samples
    got = bsp_feature(tem, proposals, ratio, n_start, n_end, n_action, n_interp)
    expected = ref_bsp(tem, proposals, ratio, n_start, n_end, n_action, n_interp)
    assert got.dtype == np.float64 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@settings(max_examples=10)
@given(tem=tem_tables(min_rows=2), proposals=proposal_tables(), samples=SAMPLES, top_k=st.integers(-2, 40))
def test_generate_bsp_feature_reads_the_top_k_proposals(tem, proposals, samples, top_k):
    n_start, n_end, n_action, n_interp = samples
    with tempfile.TemporaryDirectory() as folder:
        _write_tem(Path(folder), "v", tem)
        write_pgm_proposals(Path(folder) / "p" / "v.csv", proposals)
        got = generate_bsp_feature([0], [{"video_name": "v"}], folder, Path(folder) / "p", top_k=top_k,
                                   num_sample_start=n_start, num_sample_end=n_end, num_sample_action=n_action,
                                   num_sample_interp=n_interp)["v"]
    expected = ref_bsp(tem, proposals[:top_k], 0.2, n_start, n_end, n_action, n_interp)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_bsp_defaults_on_pgm_output(tmp_path):
    """The chain as the reference runs it: PGM CSV written, BSP reads its top-k rows."""
    rng = np.random.default_rng(1)
    tem = np.column_stack([rng.random((100, 3)), np.arange(100) / 100, np.arange(1, 101) / 100])
    _write_tem(tmp_path, "v", tem.astype(np.float32))
    info = {"video_name": "v", "duration_second": 100.0, "duration_frame": 3000, "feature_frame": 2992,
            "annotations": [{"segment": [10.0, 40.0]}]}
    proposals = generate_candidate_proposals([0], [info], tmp_path, 100, 0.5)["v"]
    write_pgm_proposals(tmp_path / "pgm" / "v.csv", proposals)
    got = generate_bsp_feature([0], [info], tmp_path, tmp_path / "pgm", top_k=50)["v"]
    assert got.shape == (50, 32)
    expected = ref_bsp(tem.astype(np.float32), proposals[:50].astype(np.float32))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert math.isclose(got[:, :16].mean(), expected[:, :16].mean())


def test_bsp_bad_inputs(tmp_path):
    _write_tem(tmp_path, "v", np.full((10, 5), 0.5, np.float32))
    with pytest.raises(InputError, match=r"pgm/v\.csv: no such file"):
        generate_bsp_feature([0], [{"video_name": "v"}], tmp_path, tmp_path / "pgm")
    write_csv(tmp_path / "pgm" / "v.csv", ["tmin", "score"], np.zeros((3, 2)))
    with pytest.raises(InputError, match="missing column 'tmax'"):
        generate_bsp_feature([0], [{"video_name": "v"}], tmp_path, tmp_path / "pgm")


# ---- files -----------------------------------------------------------------------------------


def test_csv_writer_is_byte_identical_to_savetxt(tmp_path):
    table = np.random.default_rng(2).random((7, 5)) * [1, 1, 1, 1e-9, 1e9]
    write_tem_results(tmp_path / "ours.csv", table)
    np.savetxt(tmp_path / "ref.csv", table, header=",".join(TEM_COLUMNS), delimiter=",", comments="")
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    write_pgm_proposals(tmp_path / "empty.csv", np.zeros((0, 7)))
    assert (tmp_path / "empty.csv").read_text() == ",".join(PGM_COLUMNS) + "\n"
    assert read_pgm_proposals(tmp_path / "empty.csv").shape == (0, 7)


def test_readers_find_columns_by_name_and_parse_as_float32(tmp_path):
    (tmp_path / "t.csv").write_text("tmax,tmin,end,start,action\n1,0,0.3,0.2,0.1\n2,1,0.6,0.5,0.4\n")
    got = read_tem_results(tmp_path / "t.csv")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.float32([[0.1, 0.2, 0.3, 0, 1], [0.4, 0.5, 0.6, 1, 2]]))
    (tmp_path / "one.csv").write_text(",".join(PGM_COLUMNS) + "\n" + ",".join(["0.5"] * 7) + "\n")
    assert read_pgm_proposals(tmp_path / "one.csv").shape == (1, 7)
    assert read_pgm_proposals(tmp_path / "one.csv", max_rows=0).shape == (0, 7)
    (tmp_path / "bad.csv").write_text(",".join(TEM_COLUMNS) + "\n1,2,x,4,5\n")
    with pytest.raises(InputError, match=r"bad\.csv: .*x"):
        read_tem_results(tmp_path / "bad.csv")
    (tmp_path / "empty.csv").write_text(",".join(TEM_COLUMNS) + "\n")
    with pytest.raises(InputError, match="no rows"):
        read_tem_results(tmp_path / "empty.csv")
