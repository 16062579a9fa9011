"""`vidact predict` on a tiny synthetic dataset (2 classes x 4 videos) with a 2-epoch checkpoint:
its scores against `vidact test`'s for the same videos, names, failures and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from vidact.cli import VidactGroup
from vidact.commands.predict import predict_command
from vidact.engine import runs
from vidact.engine.predict import predict_videos
from vidact.io.scores import read_scores
from vidact.schemas.load import load_recipe

from toy_data import RECIPE, make_tiny, overrides, set_args



@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(cls=VidactGroup)
    app.command("predict")(predict_command)
    app.command("unused")(lambda: None)  # two commands: Typer keeps the `predict` name
    return app


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny(tmp_path_factory.mktemp("tiny_synth"))


@pytest.fixture(scope="module")
def checkpoint(tiny, tmp_path_factory) -> Path:
    work_dir = tmp_path_factory.mktemp("work")
    runs.train_recipe(load_recipe(RECIPE, overrides(tiny)), work_dir=work_dir, validate=False)
    return work_dir / "epoch_2.pth"


def val_videos(root: Path) -> tuple[list[Path], list[int]]:
    rows = [line.split() for line in (root / "val_list_videos.txt").read_text().splitlines()]
    return [root / path for path, _ in rows], [int(label) for _, label in rows]


def test_scores_match_vidact_test(tiny, checkpoint, tmp_path):
    recipe = load_recipe(RECIPE, overrides(tiny))
    videos, _ = val_videos(tiny)
    runs.test_recipe(recipe, checkpoint=checkpoint, out=tmp_path / "scores.json")
    expected = read_scores(tmp_path / "scores.json").scores  # (N, 2), data.test = the val list, same order
    result = predict_videos(recipe, checkpoint, videos, topk=2)
    assert result["score_type"] == "prob" and result["num_failed"] == 0 and result["topk"] == 2
    assert [v["path"] for v in result["videos"]] == [str(v) for v in videos]
    for entry, row in zip(result["videos"], expected):
        preds = entry["predictions"]
        got = np.zeros(2)
        got[[p["label"] for p in preds]] = [p["score"] for p in preds]
        np.testing.assert_allclose(got, row, rtol=1e-5, atol=1e-6)
        assert preds[0]["label"] == int(np.argmax(row))


def test_json_output(app, tiny, checkpoint):
    videos, _ = val_videos(tiny)
    args = ["predict", str(RECIPE), "--checkpoint", str(checkpoint), *map(str, videos), "--topk", "5", "--json",
            *set_args(tiny)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["videos"]) == len(videos) and report["num_failed"] == 0
    assert report["topk"] == 2  # capped at the number of classes
    assert report["classes_file"] == str(tiny / "classes.txt")
    for entry in report["videos"]:
        scores = [p["score"] for p in entry["predictions"]]
        assert entry["ok"] and scores == sorted(scores, reverse=True)
        assert sorted(p["label"] for p in entry["predictions"]) == [0, 1]
        assert all(p["name"] == ("left", "right")[p["label"]] for p in entry["predictions"])
        assert sum(scores) == pytest.approx(1.0, rel=1e-5)


def test_lines_output_and_classes_option(app, tiny, checkpoint, tmp_path):
    videos, _ = val_videos(tiny)
    names = tmp_path / "names.txt"
    names.write_text("to the left\nto the right\n")
    args = ["predict", str(RECIPE), "--checkpoint", str(checkpoint), *map(str, videos), "-k", "1",
            "--classes", str(names), *set_args(tiny)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(videos)
    for line, video in zip(lines, videos):
        path, top1 = line.split("\t")
        name, score = top1.rsplit("=", 1)
        assert path == str(video) and name in ("to the left", "to the right") and 0.5 <= float(score) <= 1.0


def test_score_averaging_reports_softmax(tiny, checkpoint):
    recipe = load_recipe(RECIPE, [*overrides(tiny), "model.test_cfg.average_clips=score"])
    result = predict_videos(recipe, checkpoint, val_videos(tiny)[0][:1], topk=2, class_names=["l", "r"])
    assert result["score_type"] == "softmax" and result["classes_file"] is None
    preds = result["videos"][0]["predictions"]
    assert sum(p["score"] for p in preds) == pytest.approx(1.0, rel=1e-5)
    assert [p["name"] for p in preds] == [("l", "r")[p["label"]] for p in preds]


def test_undecodable_video_is_reported_and_exits_1(app, tiny, checkpoint, tmp_path):
    good = val_videos(tiny)[0][0]
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(os.urandom(4096))
    args = ["predict", str(RECIPE), "--checkpoint", str(checkpoint), str(bad), str(good), "--json", *set_args(tiny)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    failed, ok = report["videos"]
    assert report["num_failed"] == 1
    assert not failed["ok"] and failed["path"] == str(bad) and str(bad) in failed["error"]
    assert "\n" not in failed["error"] and "predictions" not in failed
    assert ok["ok"] and len(ok["predictions"]) == 2
    assert "1 of 2 videos could not be decoded" in result.stderr


def test_no_decodable_video_at_all_exits_1(app, tiny, checkpoint, tmp_path):
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(os.urandom(4096))
    args = ["predict", str(RECIPE), "--checkpoint", str(checkpoint), str(bad), "--json", *set_args(tiny)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["num_failed"] == 1 and not report["videos"][0]["ok"]


def test_missing_video_exits_2(app, tiny, checkpoint, tmp_path):
    missing = tmp_path / "nope.mp4"
    args = ["predict", str(RECIPE), "--checkpoint", str(checkpoint), str(missing), *set_args(tiny)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {missing}: no such video file" and result.stdout == ""


def test_wrong_number_of_class_names_exits_2(app, tiny, checkpoint, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("a\nb\nc\n")
    args = ["predict", str(RECIPE), "--checkpoint", str(checkpoint), str(val_videos(tiny)[0][0]),
            "--classes", str(names), *set_args(tiny)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "3 class names for a model with 2 classes" in result.stderr


def test_mismatched_checkpoint_is_refused(app, tiny, checkpoint):
    args = ["predict", str(RECIPE), "--checkpoint", str(checkpoint), str(val_videos(tiny)[0][0]),
            *set_args(tiny, "model.cls_head.num_classes=3")]
    result = CliRunner().invoke(app, args)
    # a CheckpointError, as in `vidact test`: one line, the runtime-failure exit code
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: checkpoint and recipe disagree on the number of classes")


def test_subprocess_json_stdout_and_exit_code(tiny, checkpoint, tmp_path):
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(b"not a video" * 100)
    cmd = [sys.executable, "-m", "vidact", "predict", str(RECIPE), "--checkpoint", str(checkpoint),
           str(val_videos(tiny)[0][0]), str(bad), "--json", *set_args(tiny)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert [v["ok"] for v in report["videos"]] == [True, False]
    assert "could not be decoded" in proc.stderr
