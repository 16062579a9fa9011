"""`vidact dataset build | convert | check` through the real root app: --json, exit codes, stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidact.cli import app


def invoke(*args: object):
    return CliRunner().invoke(app, [*map(str, args)])


@pytest.fixture
def video_tree(tmp_path: Path) -> Path:
    src = tmp_path / "videos"
    for c in ("left", "right"):
        (src / c).mkdir(parents=True)
        for i in range(3):
            (src / c / f"{c}_{i}.mp4").write_bytes(b"")
    return src


def test_build_json(video_tree: Path, tmp_path: Path) -> None:
    result = invoke("dataset", "build", video_tree, "--out", tmp_path / "ann", "--split-ratio", "0.34", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["counts"]["train"] == 4 and summary["counts"]["val"] == 2
    assert summary["classes"] == ["left", "right"]
    assert Path(summary["files"]["train_list"]).read_text().count("\n") == 4
    assert "annotation lists" in result.stderr


def test_build_bad_input_exits_2(tmp_path: Path) -> None:
    result = invoke("dataset", "build", tmp_path / "nope", "--out", tmp_path / "ann")
    assert result.exit_code == 2
    assert "no such folder" in result.stderr and result.stdout == ""


def test_convert_round_trip_json(tmp_path: Path) -> None:
    anet = {"version": "VERSION 1.3", "taxonomy": [], "database": {
        "a": {"subset": "validation", "duration": 8.0, "annotations": [{"segment": [1.0, 2.0], "label": "Run"}]}}}
    (tmp_path / "anet.json").write_text(json.dumps(anet))
    result = invoke("dataset", "convert", "anet-to-per-video", tmp_path / "anet.json", "--out", tmp_path / "pv",
                    "--json")
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["files"]
    assert json.loads(Path(files["validation"]).read_text())["v_a"]["duration_frame"] == 240
    result = invoke("dataset", "convert", "per-video-to-anet", files["validation"], "--out", tmp_path / "back.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "back.json").read_text()) == anet
    assert result.stdout == "" and "wrote activitynet" in result.stderr


def test_convert_bad_input_exits_2(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")
    result = invoke("dataset", "convert", "per-video-to-anet", tmp_path / "x.json", "--out", tmp_path / "o.json")
    assert result.exit_code == 2 and "cannot tell the subset" in result.stderr


def test_check_exit_codes_and_json(tmp_path: Path) -> None:
    import cv2
    import numpy as np

    for name, count in (("a", 3), ("b", 2)):
        (tmp_path / name).mkdir()
        for i in range(1, count + 1):
            cv2.imwrite(str(tmp_path / name / f"img_{i:05d}.jpg"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "ok.txt").write_text("a 3 0\nb 2 1\n")
    result = invoke("dataset", "check", tmp_path / "ok.txt", "--data-prefix", tmp_path, "-j", "1", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] == 2 and "2 ok, 0 broken" in result.stderr

    (tmp_path / "bad.txt").write_text("a 3 0\nb 5 1\n")
    result = invoke("dataset", "check", tmp_path / "bad.txt", "--data-prefix", tmp_path, "-j", "1",
                    "--quarantine", tmp_path / "q.txt", "--report", tmp_path / "r.json")
    assert result.exit_code == 1 and result.stdout == ""
    assert "bad.txt:2:" in result.stderr and "frame count 2 disagrees" in result.stderr
    assert (tmp_path / "q.txt").read_text() == "b 5 1\n"
    assert json.loads((tmp_path / "r.json").read_text())["bad"] == 1


def test_check_malformed_list_exits_2(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("a b c d e\n")
    result = invoke("dataset", "check", tmp_path / "x.txt")
    assert result.exit_code == 2 and "x.txt:1" in result.stderr


def test_check_in_a_real_subprocess(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "v.mp4").write_bytes(b"garbage")
    (tmp_path / "list.txt").write_text("v.mp4 0\nw.mp4 0\n")
    proc = subprocess.run([sys.executable, "-m", "vidact", "dataset", "check", str(tmp_path / "list.txt"),
                           "--data-prefix", str(tmp_path), "-j", "2", "--json"], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert [p["line_no"] for p in report["problems"]] == [1, 2] and report["problems"][1]["reason"] == "missing file"
    assert "0 ok, 2 broken" in proc.stderr
