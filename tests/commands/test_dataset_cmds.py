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
