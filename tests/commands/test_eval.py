"""`vidact eval` end to end: hand-checked numbers per metric family, warnings, protocol echo, and
one-line errors (exit 2, file and entry named, no traceback) for every kind of bad input.

The expected numbers are derived in tests/commands/conftest.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vidact.cli import app

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(*args: object, input: str | bytes | None = None):
    return CliRunner().invoke(app, ["eval", *map(str, args)], input=input)


def run_json(*args: object, input: str | bytes | None = None) -> dict:
    result = run(*args, "--json", input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_input_error(result, *fragments: str) -> str:
    """Exit 2, nothing on stdout, one `error:` line (plus an optional hint) naming the fragments."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and len(lines) <= 2, result.stderr
    assert len(lines) == 1 or lines[1].startswith("hint: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in result.output
    return lines[0]


def write(name: str, content: object) -> Path:
    """Write a test input into the working directory (tmp_path, see `eval_files`)."""
    path = Path(name)
    if isinstance(content, np.ndarray):
        np.save(path, content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


# ---- recognition --------------------------------------------------------------------------------


def test_top_k_accuracy(eval_files):
    out = run_json("--ann", eval_files["videos"], "--topk", 1, "--topk", 2, "--topk", 3, eval_files["scores"])
    assert out["metrics"] == pytest.approx({"top1_acc": 0.5, "top2_acc": 0.75, "top3_acc": 1.0})
    assert set(out) == {"metrics", "warnings", "protocol", "inputs"}
    assert out["protocol"] is None and out["warnings"] == []
    assert out["inputs"]["ann_format"] == "video" and out["inputs"]["num_samples"] == 4


def test_default_is_top1_and_top5_with_a_warning_when_there_are_fewer_classes(eval_files):
    out = run_json("--ann", eval_files["videos"], eval_files["scores"])
    assert out["metrics"] == pytest.approx({"top1_acc": 0.5})
    assert out["warnings"] == [f"top5_acc skipped: {eval_files['scores']} has only 3 classes"]


def test_mean_class_accuracy_and_confusion_matrix_on_a_rawframe_list(eval_files, tmp_path):
    out = run_json("--metric", "mean_class_accuracy", "--metric", "CONFUSION_MATRIX", "--ann", eval_files["rawframes"],
                   "--plot", tmp_path / "cm.png", eval_files["scores"])
    assert out["metrics"]["mean_class_accuracy"] == pytest.approx(1 / 3)
    assert out["metrics"]["confusion_matrix"] == [[0, 0, 0], [1, 1, 0], [1, 0, 1]]
    assert out["metrics"]["confusion_matrix_labels"] == [0, 1, 2]
    assert out["warnings"] == [
        "mean_class_accuracy averages over the 3 classes that are true or predicted, including 1 class predicted "
        f"but absent from {eval_files['rawframes']} (e.g. 0), scored 0 as in MMAction"
    ]
    assert out["inputs"]["ann_format"] == "rawframe"
    assert (tmp_path / "cm.png").read_bytes().startswith(PNG_MAGIC)


def test_confusion_matrix_table_and_normalize(eval_files):
    args = ("--metric", "confusion_matrix", "--normalize", "true", "--ann", eval_files["videos"], eval_files["scores"])
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "confusion matrix (rows: true class, columns: predicted)" in result.stderr
    assert "0.500" in result.stderr
    out = run_json(*args)
    assert out["metrics"]["confusion_matrix"] == [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5]]


def test_multi_label_mean_average_precision(eval_files):
    out = run_json("--multi-class", "--num-classes", 2, "--ann", eval_files["multi_list"], eval_files["multi"])
    assert out["metrics"] == pytest.approx({"mean_average_precision": 11 / 12})
    out = run_json("-m", "mean_average_precision", "--multi-class", "--ann", eval_files["multi_list"],
                   eval_files["multi"])
    assert out["metrics"]["mean_average_precision"] == pytest.approx(11 / 12)


def test_protocol_metadata_is_echoed(eval_files):
    result = run("--ann", eval_files["videos"], "--topk", 1, "--json", eval_files["scores_json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["protocol"]["num_clips"] == 10 and out["protocol"]["checkpoint_sha256"] == "0f1e2d3c4b5a"
    assert "protocol (from the predictions file)" in result.stderr and "aggregation" in result.stderr


def test_protocol_annotation_hash_mismatch_warns(eval_files):
    meta = {"ann_file_sha256": "sha256:" + "0" * 64}
    scores = write("s.json", {"scores": np.load(eval_files["scores"]).tolist(), "meta": meta})
    out = run_json("--ann", eval_files["videos"], "--topk", 1, scores)
    assert any("differs from the sha256 of" in w and "another annotation file" in w for w in out["warnings"])


def test_tied_scores_warn_and_rank_by_class_index(eval_files):
    scores = write("tied.npy", np.array([[0.5, 0.5, 0.0]] * 4))
    out = run_json("--ann", eval_files["videos"], "--topk", 1, "--topk", 2, scores)
    # Class 1 ranks before class 0 on every row (MMAction's order); labels are 1, 2, 2, 1.
    assert out["metrics"] == {"top1_acc": 0.5, "top2_acc": 0.5}
    assert out["warnings"] == [
        f"tied top scores in 4 of 4 samples of {scores}: ties are ranked by class index (highest first, as MMAction)"
    ]


def test_forced_list_format(eval_files):
    result = run("--ann-format", "rawframe", "--ann", eval_files["videos"], eval_files["scores"])
    assert_input_error(result, f"{eval_files['videos']}:1: expected 'frame_dir total_frames label' (rawframe list)")


def test_scores_from_stdin(eval_files):
    payload = json.dumps(np.load(eval_files["scores"]).tolist())
    out = run_json("--ann", eval_files["videos"], "--topk", 1, "-", input=payload)
    assert out["metrics"]["top1_acc"] == 0.5 and out["inputs"]["scores"] == "<stdin>"


# ---- localization -------------------------------------------------------------------------------


def test_ar_an_hand_checked_and_v_prefix_matching(eval_files, tmp_path):
    out = run_json("-m", "AR@AN", "--ann", eval_files["gt"], "--plot", tmp_path / "arn.png", eval_files["proposals"])
    assert out["metrics"] == pytest.approx(
        {"AR@1": 1 / 3, "AR@5": 11 / 30, "AR@10": 11 / 30, "AR@100": 11 / 30, "auc": 36.283333333}
    )
    assert out["inputs"]["subset"] == "validation" and out["inputs"]["num_gt_videos"] == 2
    assert out["inputs"]["temporal_iou_thresholds"][0] == 0.5 and out["inputs"]["temporal_iou_thresholds"][-1] == 0.95
    assert out["warnings"] == [
        f"fewer than 100 proposals for 2 of 2 ground-truth videos in {eval_files['proposals']} (0 with none): "
        "AR@100, the last curve point, is not 'at 100 proposals' for them"
    ]
    assert (tmp_path / "arn.png").read_bytes().startswith(PNG_MAGIC)


def test_ar_an_is_the_default_for_json_ground_truth_and_metric_names_are_case_insensitive(eval_files):
    default = run_json("--ann", eval_files["gt"], eval_files["proposals"])
    assert run_json("--metric", "ar@an", "--ann", eval_files["gt"], eval_files["proposals"]) == default
    assert default["metrics"]["AR@1"] == pytest.approx(1 / 3)


def test_missing_and_extra_videos_warn(eval_files):
    proposals = json.loads(eval_files["proposals"].read_text())
    results = {"results": {"A": proposals["results"]["A"], "v_T": [{"segment": [0, 20], "score": 1.0}],
                           "zzz": [{"segment": [0, 1], "score": 0.1}]}}
    out = run_json("--ann", eval_files["gt"], write("r.json", results))
    warnings = "\n".join(out["warnings"])
    assert "no results for 1 of 2 ground-truth videos" in warnings and "'v_B'" in warnings
    assert "zero recall" in warnings
    assert "results for 2 videos not in the ground truth (subset 'validation')" in warnings
    assert "counted in the total number of proposals" in warnings
    # As in the kit, the 2 extra proposals count in the total (ratio 100 * 2 / 4) while v_B keeps
    # none, so AN = 1 already lets v_A keep both of its proposals: AR@1 rises from 1/3 to 11/30.
    assert out["metrics"]["AR@1"] == pytest.approx(11 / 30) and out["metrics"]["AR@100"] == pytest.approx(11 / 30)


def test_subset_filtering(eval_files):
    out = run_json("--subset", "training", "--ann", eval_files["gt"], eval_files["proposals"])
    assert out["inputs"]["subset"] == "training" and out["inputs"]["num_gt_videos"] == 1
    assert out["metrics"]["AR@100"] == 0.0
    assert_input_error(run("--subset", "val", "--ann", eval_files["gt"], eval_files["proposals"]),
                       "no videos in subset 'val'; subsets present: training, validation")


def test_per_video_reference_ground_truth(eval_files):
    gt = eval_files["per_video_gt"]
    out = run_json("--ann", gt, eval_files["proposals"])
    assert out["metrics"]["AR@1"] == pytest.approx(1 / 3) and out["inputs"]["gt_format"] == "per-video"
    out = run_json("--subset", "training", "--ann", gt, eval_files["proposals"])
    assert out["warnings"][0] == f"--subset training ignored: {gt} is a per-video file without subsets"


def test_max_avg_proposals_changes_what_ar_keys_mean(eval_files):
    out = run_json("--max-avg-proposals", 10, "--ann", eval_files["gt"], eval_files["proposals"])
    assert any("AR@100 is the recall at AN=10" in w for w in out["warnings"])


def test_detection_map_hand_checked(eval_files):
    out = run_json("--metric", "mAP", "--ann", eval_files["gt"], eval_files["detections"])
    low = ["0.50", "0.55", "0.60", "0.65", "0.70"]
    high = ["0.75", "0.80", "0.85", "0.90", "0.95"]
    expected = {f"mAP@{t}": 0.75 for t in low} | {f"mAP@{t}": 0.5 for t in high} | {"average_mAP": 0.625}
    assert out["metrics"] == pytest.approx(expected)


def test_missing_matplotlib_is_an_input_error(eval_files, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    result = run("--ann", eval_files["gt"], "--plot", tmp_path / "arn.png", eval_files["proposals"])
    assert_input_error(result, "plotting needs matplotlib, which is not installed: pip install 'vidact[plot]'")


def test_detection_with_ar_an_and_results_outside_ground_truth(eval_files):
    det = json.loads(eval_files["detections"].read_text())
    det["results"]["v_T"] = [{"segment": [0, 20], "score": 0.01, "label": "Run"}]
    out = run_json("-m", "map", "-m", "AR@AN", "--ann", eval_files["gt"], write("d.json", det))
    assert out["metrics"]["average_mAP"] == pytest.approx(0.625)  # lowest-scored FP: no effect on AP here
    assert "AR@100" in out["metrics"]
    assert any("false positives for mAP" in w for w in out["warnings"])


def test_results_from_stdin(eval_files):
    out = run_json("--ann", eval_files["gt"], "-", input=eval_files["proposals"].read_text())
    assert out["metrics"]["AR@1"] == pytest.approx(1 / 3) and out["inputs"]["results"] == "<stdin>"


def test_localization_protocol_is_echoed(eval_files):
    protocol = {"model": "bmn_400x100", "checkpoint_sha256": "abc"}
    results = dict(json.loads(eval_files["proposals"].read_text()), protocol=protocol)
    out = run_json("--ann", eval_files["gt"], write("r.json", results))
    assert out["protocol"] == {"model": "bmn_400x100", "checkpoint_sha256": "abc"}


# ---- bad input: exit 2, one line, file and entry named ---------------------------------------------


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"segment": [1, 2]}, 'results["A"][1]: missing "score"'),
        ({"score": 0.5}, 'results["A"][1]: missing "segment"'),
        ({"segment": [1, 2, 3], "score": 0.5}, 'results["A"][1].segment: expected [start, end], got 3 values'),
        ({"segment": [5, 2], "score": 0.5}, 'results["A"][1].segment: end 2.0 < start 5.0'),
        ({"segment": [1, 2], "score": "NaN"}, 'results["A"][1].score: expected a number, got a string'),
    ],
)
def test_bad_results_entries(eval_files, entry, fragment):
    results = {"results": {"A": [{"segment": [0, 1], "score": 1.0}, entry]}}
    path = write("results.json", results)
    assert_input_error(run("--ann", eval_files["gt"], path), f"{path}: {fragment}")


def test_nan_and_inf_in_results(eval_files):
    path = Path("results.json")
    path.write_text('{"results": {"A": [{"segment": [0, 1], "score": NaN}]}}')
    assert_input_error(run("--ann", eval_files["gt"], path),
                       f'{path}: results["A"][0].score: expected a finite number, got nan')
    path.write_text('{"results": {"A": [{"segment": [0, Infinity], "score": 1}]}}')
    assert_input_error(run("--ann", eval_files["gt"], path),
                       'results["A"][0].segment[1]: expected a finite number, got inf')


def test_malformed_and_empty_results(eval_files):
    bad = write("bad.json", '{"results": {"A": [}')
    assert_input_error(run("--ann", eval_files["gt"], bad), f"{bad}: malformed JSON at line 1, column")
    empty = write("empty.json", {"results": {}})
    assert_input_error(run("--ann", eval_files["gt"], empty), f'{empty}: "results" is empty (no videos)')
    swapped = run("--ann", eval_files["proposals"], eval_files["gt"])
    assert_input_error(swapped, f"{eval_files['proposals']}: this is a results file, not ground truth")


def test_detection_label_errors(eval_files):
    results = {"results": {"v_A": [{"segment": [0, 1], "score": 1.0, "label": "Running"}]}}
    path = write("det.json", results)
    assert_input_error(run("-m", "mAP", "--ann", eval_files["gt"], path),
                       f'{path}: results["v_A"][0].label: "Running" is not a class of {eval_files["gt"]} '
                       '(did you mean "Run"?)')
    assert_input_error(run("-m", "mAP", "--ann", eval_files["gt"], eval_files["proposals"]),
                       f'{eval_files["proposals"]}: results["A"][0]: missing "label"')


def test_row_count_mismatch_names_both_files(eval_files):
    scores = write("three.npy", np.load(eval_files["scores"])[:3])
    assert_input_error(run("--ann", eval_files["videos"], scores),
                       f"{scores} has 3 score rows but {eval_files['videos']} has 4 samples")


@pytest.mark.parametrize(
    ("array", "fragment"),
    [
        (np.zeros(4), "expected a 2-D array (samples x classes), got shape (4,)"),
        (np.array([[0.1, np.nan, 0.2]] * 4), "[0][1]: expected a finite number, got nan"),
        (np.array([[0.1, np.inf, 0.2]] * 4), "[0][1]: expected a finite number, got inf"),
    ],
)
def test_bad_scores(eval_files, array, fragment):
    path = write("bad.npy", array)
    assert_input_error(run("--ann", eval_files["videos"], "--topk", 1, path), str(path), fragment)


def test_labels_beyond_the_score_columns_are_misses_with_a_warning(eval_files):
    # As the reference's top_k_accuracy: such a label is a miss (exit 0); vidact eval says so.
    ann = write("ann.txt", "a.mp4 0\nb.mp4 1\nc.mp4 7\nd.mp4 2\n")
    scores = eval_files["scores"]
    warning = (f"1 label of {ann} outside the 3 score columns of {scores} (samples 2; lines 3): "
               "counted as misses, as MMAction")
    out = run_json("--ann", ann, "--topk", 1, "--topk", 3, scores)
    assert out["metrics"]["top3_acc"] == pytest.approx(0.75)
    assert warning in out["warnings"]
    result = run("--ann", ann, "--topk", 1, scores)
    assert result.exit_code == 0, result.output
    assert "outside the 3 score columns" in result.stderr


def test_malformed_annotation_line(eval_files):
    ann = write("ann.txt", "a.mp4 0\nb.mp4 1\nc.mp4 x\nd.mp4 2\n")
    assert_input_error(run("--ann", ann, eval_files["scores"]), f"{ann}:3: expected a non-negative integer, got 'x'")
    ann = write("ann.txt", "a.mp4 0\nb.mp4 1\nc.mp4\nd.mp4 2\n")
    assert_input_error(run("--ann", ann, eval_files["scores"]),
                       f"{ann}:3: expected 'path label' (video list), got 1 field")


def test_topk_larger_than_the_number_of_classes(eval_files):
    """As MMAction's top_k_accuracy: k > C counts every sample as a hit (the README's --topk 5 on 4 classes)."""
    out = run_json("--ann", eval_files["videos"], "--topk", 1, "--topk", 5, eval_files["scores"])
    assert out["metrics"]["top5_acc"] == 1.0
    assert out["warnings"] == [f"top5_acc: {eval_files['scores']} has only 3 classes, so every sample counts as a hit"]
    assert_input_error(run("--ann", eval_files["videos"], "--topk", 0, eval_files["scores"]),
                       "--topk 0 is out of range: k must be at least 1")


def test_missing_files(eval_files, tmp_path):
    none_txt, none_npy = Path("none.txt"), Path("none.npy")
    assert_input_error(run("--ann", none_txt, eval_files["scores"]), f"{none_txt}: no such file")
    assert_input_error(run("--ann", eval_files["videos"], none_npy), f"{none_npy}: no such file")
    assert_input_error(run("--ann", tmp_path / "gt.json-nope.json", eval_files["proposals"]), "no such file")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-m", "top_k_accuracy", "-m", "AR@AN"],
         "cannot mix recognition (top_k_accuracy) and localization (AR@AN) metrics: run vidact eval once for each"),
        (["-m", "accuracy"], "unknown metric 'accuracy'"),
        (["-m", "top_k_acuracy"], "unknown metric 'top_k_acuracy'; did you mean 'top_k_accuracy'?"),
        (["-m", "mean_average_precision"], "mean_average_precision needs multi-label annotations"),
        (["-m", "mAP"], "malformed JSON at line 1"),
    ],
)
def test_metric_errors(eval_files, args, fragment):
    assert_input_error(run(*args, "--ann", eval_files["videos"], eval_files["scores"]), fragment)


def test_both_inputs_on_stdin(eval_files):
    assert_input_error(run("--ann", "-", "-", input=""), "only one of --ann and SCORES|RESULTS can be '-'")


def test_plot_needs_something_to_plot(eval_files, tmp_path):
    assert_input_error(run("--ann", eval_files["videos"], "--plot", tmp_path / "x.png", eval_files["scores"]),
                       "--plot needs --metric confusion_matrix (recognition) or --metric AR@AN (localization)")
    assert not (tmp_path / "x.png").exists()


def test_help_lists_the_option_groups():
    result = run("--help")
    assert result.exit_code == 0
    for text in ("--metric", "--topk", "--ann-format", "--multi-class", "--subset", "--max-avg-proposals",
                 "--plot", "--json", "Recognition", "Localization", "vidact eval --metric AR@AN"):
        assert text in result.stdout, text


# ---- a real `vidact` process: exit codes, stdout / stderr split ----------------------------------


def _vidact() -> list[str]:
    script = Path(sys.executable).with_name("vidact")
    return [str(script)] if script.exists() else [sys.executable, "-m", "vidact"]


def test_subprocess_json_on_stdout_table_on_stderr(eval_files):
    proc = subprocess.run([*_vidact(), "eval", "--ann", str(eval_files["gt"]), "--json", "-"],
                          input=eval_files["proposals"].read_text(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # exactly one JSON object
    assert out["metrics"]["AR@1"] == pytest.approx(1 / 3)
    assert "vidact eval: localization" in proc.stderr and "AR@100" in proc.stderr and "36.28 %" in proc.stderr


def test_subprocess_bad_input_is_one_line_and_exit_2(eval_files):
    path = write("results.json", {"results": {"v_abc": [{"segment": [0, 1]}]}})
    proc = subprocess.run([*_vidact(), "eval", "--ann", str(eval_files["gt"]), str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == f'error: {path}: results["v_abc"][0]: missing "score"'


def test_subprocess_recognition_exit_0(eval_files):
    args = ["eval", "--ann", str(eval_files["videos"]), "--topk", "1", str(eval_files["scores"])]
    proc = subprocess.run([*_vidact(), *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == ""
    assert "top1_acc" in proc.stderr and "0.5000" in proc.stderr


def test_recognition_metric_on_json_ground_truth(eval_files):
    result = run("-m", "top_k_accuracy", "--ann", eval_files["gt"], eval_files["proposals"])
    assert_input_error(result, f"{eval_files['gt']}: this is JSON, not a video or rawframe list")
    assert "AR@AN and mAP read JSON ground truth" in result.stderr
