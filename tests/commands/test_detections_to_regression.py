"""`vidact detections-to-regression` and `vidact eval --dataset thumos14`: the chain against the slow
reference pipeline, output formats, stdin/stdout, and one-line errors (exit 2) for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.localization.test_detections import random_outputs, ref_chain
from vidact.cli import app
from vidact.data.annotations.ssn_detections import write_ssn_raw_outputs
from vidact.localization.detections import THUMOS14_IOU_RANGE, postprocess_detections

NUM_FRAMES = {"video_0": 300, "video_1": 450, "video_2": 600}


def invoke(*args: object, input: str | bytes | None = None):
    return CliRunner().invoke(app, [*map(str, args)], input=input)


def proposal_file(path: Path, gt: dict) -> Path:
    """An SSN proposal list holding the normalised ground truth `gt` (class -> video -> segments) in frames."""
    blocks = []
    for i, (video, frames) in enumerate(NUM_FRAMES.items()):
        lines = [f"{c + 1} {round(s * frames)} {round(e * frames)}" for c, videos in sorted(gt.items())
                 for s, e in videos.get(video, [])]
        blocks.append("\n".join([f"# {i}", video, str(frames), "1", str(len(lines)), *lines,
                                 "1", f"1 0.5 0.5 0 {frames // 2}"]))
    path.write_text("\n".join(blocks) + "\n")
    return path


def frame_gt(seed: int, num_classes: int = 3) -> dict:
    """Ground truth on whole frames, every class present, normalised."""
    rng = np.random.default_rng(seed)
    gt: dict = {}
    for c in range(num_classes):
        for video, frames in NUM_FRAMES.items():
            if c == 0 or rng.random() < 0.6:
                s = int(rng.integers(0, frames * 0.7))
                gt.setdefault(c, {}).setdefault(video, []).append([s / frames, (s + int(rng.integers(10, 80))) / frames])
    return gt


@pytest.fixture
def raw(tmp_path: Path) -> tuple[list, Path]:
    outputs = random_outputs(7, num_videos=3, num_classes=3)
    path = tmp_path / "raw.json"
    write_ssn_raw_outputs(path, outputs, {"checkpoint_sha256": "abc"})
    return outputs, path


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_chain_equals_reference_pipeline(tmp_path: Path, suffix: str) -> None:
    outputs = random_outputs(3, num_videos=3, num_classes=3)
    raw = tmp_path / f"raw{suffix}"
    write_ssn_raw_outputs(raw, outputs)
    gt = frame_gt(3)
    ann = proposal_file(tmp_path / "proposals.txt", gt)
    det = tmp_path / "det.json"
    result = invoke("detections-to-regression", raw, "--out", det)
    assert result.exit_code == 0, result.output
    result = invoke("eval", "--metric", "mAP", "--dataset", "thumos14", "--ann", ann, det, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    if suffix == ".npz":  # stored as float32
        outputs = [type(o)(o.video_id, *(np.float32(a).astype(np.float64) for a in
                                         (o.relative_proposal_list, o.activity_scores, o.completeness_scores,
                                          o.bbox_preds))) for o in outputs]
    expected = ref_chain(outputs, gt)
    ours = [report["metrics"][f"mAP@{t:.02f}"] for t in THUMOS14_IOU_RANGE]
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)
    assert report["metrics"]["average_mAP"] == pytest.approx(float(np.mean(expected)), abs=1e-6)
    assert set(report["per_class_ap"]) == {"0", "1", "2"}


def test_json_output_keeps_five_columns_and_matches_library(raw: tuple, tmp_path: Path) -> None:
    outputs, path = raw
    out = tmp_path / "det.json"
    assert invoke("detections-to-regression", path, "--out", out, "--nms", "0.3", "--top-k", "20").exit_code == 0
    written = json.loads(out.read_text())
    expected = postprocess_detections(outputs, top_k=20, nms=0.3)
    assert list(written) == ["0", "1", "2"]
    for c, per_video in enumerate(expected):
        assert set(written[str(c)]) == set(per_video)
        for vid, rows in per_video.items():
            np.testing.assert_array_equal(np.array(written[str(c)][vid]), rows)
            assert rows.shape[1] == 5


def test_per_class_input_and_no_regression(tmp_path: Path) -> None:
    det = {"0": {"v": [[0.1, 0.5, 0.9, 0.1, 0.2], [0.12, 0.5, 0.8, 0.0, 0.0], [0.7, 0.9, 0.5, 0, 0]]}}
    (tmp_path / "in.json").write_text(json.dumps(det))
    result = invoke("detections-to-regression", tmp_path / "in.json", "--out", "-", "--no-regression")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"0": {"v": [[0.1, 0.5, 0.9, 0.1, 0.2], [0.7, 0.9, 0.5, 0, 0]]}}
    result = invoke("detections-to-regression", tmp_path / "in.json", "--out", "-")
    rows = np.array(json.loads(result.stdout)["0"]["v"])
    # centre 0.3 + 0.4 * 0.1 = 0.34, duration 0.4 * e^0.2
    np.testing.assert_allclose(rows[0, :2], [0.34 - 0.2 * np.exp(0.2), 0.34 + 0.2 * np.exp(0.2)])


def test_thumos_and_anet_formats(raw: tuple, tmp_path: Path) -> None:
    _, path = raw
    ann = proposal_file(tmp_path / "p.txt", frame_gt(1))
    result = invoke("detections-to-regression", path, "--out", "-", "--format", "thumos", "--ann", ann, "--fps", "30")
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.strip().splitlines()]
    assert lines and all(len(f) == 5 and f[0] in NUM_FRAMES and 1 <= int(f[3]) <= 3 for f in lines)
    assert all(0 <= float(f[1]) <= float(f[2]) <= NUM_FRAMES[f[0]] / 30 + 0.01 for f in lines)
    result = invoke("detections-to-regression", path, "--out", tmp_path / "anet.json", "--format", "anet",
                    "--ann", ann)
    assert result.exit_code == 0, result.output
    anet = json.loads((tmp_path / "anet.json").read_text())
    assert set(anet["results"]) <= set(NUM_FRAMES)
    assert all({"label", "score", "segment"} <= set(e) for es in anet["results"].values() for e in es)


def test_stdin_stdout_pipeline(raw: tuple, tmp_path: Path) -> None:
    _, path = raw
    ann = proposal_file(tmp_path / "p.txt", frame_gt(2))
    cmd = [sys.executable, "-m", "vidact"]
    first = subprocess.run([*cmd, "detections-to-regression", "-", "--out", "-"], input=path.read_bytes(),
                           capture_output=True, check=True)
    second = subprocess.run([*cmd, "eval", "--metric", "mAP", "--dataset", "thumos14", "--ann", str(ann), "-",
                             "--json"], input=first.stdout, capture_output=True, check=True)
    report = json.loads(second.stdout)
    assert set(report["metrics"]) == {f"mAP@{t:.02f}" for t in THUMOS14_IOU_RANGE} | {"average_mAP"}


def test_class_without_gt_is_null_with_warning(tmp_path: Path) -> None:
    gt = {"0": {"v": [[0.1, 0.5]]}, "1": {}, "2": {"v": [[0.6, 0.9]]}}
    det = {"0": {"v": [[0.1, 0.5, 0.9, 0, 0]]}, "1": {"v": [[0.1, 0.5, 0.9, 0, 0]]}, "2": {}}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "det.json").write_text(json.dumps(det))
    result = invoke("eval", "--metric", "mAP", "--dataset", "thumos14", "--ann", tmp_path / "gt.json",
                    tmp_path / "det.json", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["per_class_ap"]["1"] is None
    assert report["metrics"]["mAP@0.50"] == pytest.approx(0.5)  # (1 + 0) / 2 over classes 0 and 2
    assert any("class 1" in w for w in report["warnings"])


def assert_input_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and len(lines) <= 2, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_bad_inputs_are_one_line_errors(raw: tuple, tmp_path: Path) -> None:
    _, path = raw
    bad_block = tmp_path / "bad.txt"
    bad_block.write_text("# 0\nvid\n100\n1\n2\n1 10 20\n")
    det = tmp_path / "det.json"
    det.write_text(json.dumps({"0": {"vid": [[0.1, 0.2, 0.5, 0, 0]]}}))
    assert_input_error(invoke("eval", "--metric", "mAP", "--dataset", "thumos14", "--ann", bad_block, det),
                       "bad.txt:6")
    good = proposal_file(tmp_path / "p.txt", {0: {"video_0": [[0.1, 0.3]]}})
    out_of_range = tmp_path / "oor.json"
    out_of_range.write_text(json.dumps({"5": {"video_0": [[0.1, 0.2, 0.5, 0, 0]]}}))
    assert_input_error(invoke("eval", "--metric", "mAP", "--dataset", "thumos14", "--ann", good, out_of_range),
                       "oor.json", '"5"', "out of range")
    negative = tmp_path / "neg.json"
    negative.write_text(json.dumps({"-1": {"video_0": [[0.1, 0.2, 0.5, 0, 0]]}}))
    assert_input_error(invoke("detections-to-regression", negative, "--out", "-"), "neg.json", '"-1"')
    nan = tmp_path / "nan.json"
    nan.write_text('{"0": {"video_0": [[0.1, 0.2, NaN, 0, 0]]}}')
    assert_input_error(invoke("detections-to-regression", nan, "--out", "-"), "nan.json", '["video_0"][0]', "score")
    raw_nan = json.loads(path.read_text())
    raw_nan["videos"][1]["activity_scores"][2][1] = float("nan")
    (tmp_path / "raw_nan.json").write_text(json.dumps(raw_nan))
    assert_input_error(invoke("detections-to-regression", tmp_path / "raw_nan.json", "--out", "-"),
                       "raw_nan.json", "video_1", "activity_scores[2, 1]")
    other = json.loads(path.read_text()) | {"model": "TSN"}
    (tmp_path / "tsn.json").write_text(json.dumps(other))
    assert_input_error(invoke("detections-to-regression", tmp_path / "tsn.json", "--out", "-"), "tsn.json", "'TSN'")
    (tmp_path / "rec.json").write_text(json.dumps({"scores": [[0.1, 0.9]], "protocol": {"num_clips": 1}}))
    assert_input_error(invoke("detections-to-regression", tmp_path / "rec.json", "--out", "-"), "rec.json",
                       "recognition scores")
    (tmp_path / "bmn.json").write_text(json.dumps({"results": {"v": [{"segment": [0, 1], "score": 0.5}]}}))
    assert_input_error(invoke("eval", "--metric", "mAP", "--dataset", "thumos14", "--ann", good,
                              tmp_path / "bmn.json"), "bmn.json", "ActivityNet-style results")
    (tmp_path / "scores.json").write_text(json.dumps([[0.1, 0.9], [0.8, 0.2]]))
    assert_input_error(invoke("detections-to-regression", tmp_path / "scores.json", "--out", "-"), "scores.json")
    assert_input_error(invoke("eval", "--metric", "mAP", "--dataset", "thumos14", "--ann", good, path),
                       "raw.json", "raw output")
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"0": {"video_0": [[0.1, 0.2, 0.5]]}}))
    assert_input_error(invoke("detections-to-regression", short, "--out", "-"), "short.json", "--no-regression")
    assert_input_error(invoke("detections-to-regression", path, "--out", "-", "--format", "thumos"), "--ann")


def test_anet_format_scores_like_thumos14_through_the_activitynet_kit(tmp_path: Path) -> None:
    """The same detections, in seconds with class names, give the same mAP@0.5 through `vidact eval
    --metric mAP` (ActivityNet kit maths) as through `--dataset thumos14` (SSN's eval_ap)."""
    outputs = random_outputs(5, num_videos=3, num_classes=3)
    raw = tmp_path / "raw.json"
    write_ssn_raw_outputs(raw, outputs)
    gt = frame_gt(5)
    proposals = proposal_file(tmp_path / "p.txt", gt)
    names = ["run", "jump", "swim"]
    (tmp_path / "classes.txt").write_text("\n".join(names) + "\n")
    per_video = {v: {"duration_second": n / 30, "duration_frame": n, "fps": 30.0, "annotations": []}
                 for v, n in NUM_FRAMES.items()}
    for c, videos in gt.items():
        for v, segments in videos.items():
            per_video[v]["annotations"] += [{"segment": [round(s * NUM_FRAMES[v]) / 30, round(e * NUM_FRAMES[v]) / 30],
                                             "label": names[c]} for s, e in segments]
    (tmp_path / "gt.json").write_text(json.dumps(per_video))
    anet = tmp_path / "anet.json"
    assert invoke("detections-to-regression", raw, "--out", anet, "--format", "anet", "--ann", tmp_path / "gt.json",
                  "--classes", tmp_path / "classes.txt").exit_code == 0
    kit = json.loads(invoke("eval", "--metric", "mAP", "--ann", tmp_path / "gt.json", anet, "--json").stdout)
    det = tmp_path / "det.json"
    assert invoke("detections-to-regression", raw, "--out", det).exit_code == 0
    ssn = json.loads(invoke("eval", "--metric", "mAP", "--dataset", "thumos14", "--ann", proposals, det,
                            "--json").stdout)
    assert ssn["metrics"]["mAP@0.50"] > 0
    assert kit["metrics"]["mAP@0.50"] == pytest.approx(ssn["metrics"]["mAP@0.50"], abs=1e-5)


def test_outputs_record_the_annotation_so_eval_needs_no_ann(tmp_path: Path) -> None:
    from vidact.io.provenance import annotation_record

    gt = frame_gt(5)
    ann = proposal_file(tmp_path / "proposals.txt", gt)
    raw = tmp_path / "raw.json"
    write_ssn_raw_outputs(raw, random_outputs(5, num_videos=3, num_classes=3), annotation_record(ann))
    det = tmp_path / "det.json"
    assert invoke("detections-to-regression", raw, "--out", det).exit_code == 0  # the record comes from the input
    assert json.loads(det.read_text())["protocol"]["ann_file"] == str(ann.resolve())
    with_ann = invoke("eval", "--metric", "mAP", "--dataset", "thumos14", "--ann", ann, det, "--json")
    without = invoke("eval", "--metric", "mAP", "--dataset", "thumos14", det, "--json")
    assert with_ann.exit_code == 0 and without.exit_code == 0, without.output
    assert json.loads(without.stdout)["metrics"] == json.loads(with_ann.stdout)["metrics"]
