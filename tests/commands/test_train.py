"""`vidact train` and `vidact test` end to end on a tiny synthetic dataset (2 classes x 4 videos),
and the scores file read back by `vidact eval`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from vidact.cli import VidactGroup
from vidact.commands.eval import eval_command
from vidact.commands import test as test_cmd
from vidact.commands.train import train_command
from vidact.io.scores import read_scores

from toy_data import RECIPE, make_tiny, set_args



@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(cls=VidactGroup)
    app.command("train")(train_command)
    app.command("test")(test_cmd.test_command)
    app.command("eval")(eval_command)
    return app


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny(tmp_path_factory.mktemp("tiny_synth"))


@pytest.fixture(scope="module")
def trained(app, tiny, tmp_path_factory) -> tuple[Path, dict]:
    work_dir = tmp_path_factory.mktemp("work")
    result = CliRunner().invoke(app, ["train", str(RECIPE), "--work-dir", str(work_dir), "--json", *set_args(tiny)])
    assert result.exit_code == 0, result.output
    return work_dir, json.loads(result.stdout)


def test_train_writes_checkpoints_log_and_json(trained):
    work_dir, summary = trained
    assert summary["epochs"] == 2 and summary["iterations"] == 6
    assert 0.0 <= summary["metrics"]["top1_acc"] <= 1.0
    assert Path(summary["latest_checkpoint"]).name == "epoch_2.pth"
    assert Path(summary["best_checkpoint"]).name.startswith("best_top1_acc_epoch_")
    records = [json.loads(line) for line in (work_dir / "log.jsonl").read_text().splitlines()]
    assert {r["mode"] for r in records} == {"train", "val"}
    assert all(np.isfinite(r["loss"]) for r in records if r["mode"] == "train")
    assert (work_dir / "recipe.yaml").is_file()


def test_resume_auto_continues_from_latest(app, tiny, trained):
    work_dir, _ = trained
    args = ["train", str(RECIPE), "--work-dir", str(work_dir), "--json", "--resume", "auto",
            *set_args(tiny), "--set", "total_epochs=3", "--no-validate"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["epochs"] == 3 and summary["iterations"] == 9
    assert (work_dir / "epoch_3.pth").is_file()


def test_test_json_is_read_by_vidact_eval(app, tiny, trained, tmp_path):
    work_dir, _ = trained
    out = tmp_path / "scores.json"
    args = ["test", str(RECIPE), "--checkpoint", str(work_dir / "epoch_2.pth"), "--out", str(out),
            "--eval", "top_k_accuracy", "--topk", "1", "--json", *set_args(tiny)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    protocol = summary["protocol"]
    assert protocol["num_clips"] == 8 and protocol["num_crops"] == 1 and protocol["aggregation"] == "prob"
    assert protocol["input_size"] == [32, 32] and len(protocol["checkpoint_sha256"]) == 64
    scores = read_scores(out)
    assert scores.scores.shape == (2, 2) and scores.protocol == protocol
    np.testing.assert_allclose(scores.scores.sum(1), 1.0, rtol=1e-5)  # prob averaging
    ev = CliRunner().invoke(app, ["eval", "--ann", str(tiny / "val_list_videos.txt"), "--topk", "1", "--json",
                                  str(out)])
    assert ev.exit_code == 0, ev.output
    report = json.loads(ev.stdout)
    assert report["metrics"]["top1_acc"] == pytest.approx(summary["metrics"]["top1_acc"])
    assert report["protocol"] == protocol
    assert not [w for w in report["warnings"] if "sha256" in w]


def test_test_npy_with_protocol_sidecar(app, tiny, trained, tmp_path):
    work_dir, _ = trained
    out = tmp_path / "scores.npy"
    args = ["test", str(RECIPE), "--checkpoint", str(work_dir / "epoch_2.pth"), "--out", str(out),
            *set_args(tiny), "--set", "model.test_cfg.average_clips=score"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert np.load(out).shape == (2, 2)
    protocol = json.loads((tmp_path / "scores.npy.protocol.json").read_text())
    assert protocol["aggregation"] == "score"


def test_test_rejects_mismatched_checkpoint(app, tiny, trained, tmp_path):
    work_dir, _ = trained
    args = ["test", str(RECIPE), "--checkpoint", str(work_dir / "epoch_2.pth"), "--out", str(tmp_path / "s.json"),
            *set_args(tiny), "--set", "model.cls_head.num_classes=3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "number of classes" in result.output and not (tmp_path / "s.json").exists()


def test_bad_override_exits_2(app, tmp_path):
    result = CliRunner().invoke(app, ["train", str(RECIPE), "--set", "optimizer.lr=fast", "--work-dir", str(tmp_path)])
    assert result.exit_code == 2 and "optimizer.lr" in result.output


def test_gpus_relaunches_under_torchrun(app, monkeypatch, tmp_path):
    from vidact.commands import train as train_cmd

    calls = []
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.setattr(train_cmd.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    monkeypatch.setattr(train_cmd.sys, "argv", ["vidact", "train", "r.yaml", "--gpus", "2", "--json"])
    result = CliRunner().invoke(app, ["train", str(RECIPE), "--gpus", "2", "--work-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (cmd,) = calls
    assert cmd[1:6] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m"]
    assert cmd[6:] == ["vidact", "train", "r.yaml", "--json"]
