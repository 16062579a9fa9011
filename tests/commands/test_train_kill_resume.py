"""Kill `vidact train` with SIGKILL mid-epoch, then `--resume auto`: no corrupted checkpoint, and
training continues from the last (mid-epoch) checkpoint with the losses of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vidact.engine.checkpoint import load_checkpoint

from toy_data import RECIPE, make_tiny, set_args

EPOCHS = 12


def _train(work_dir: Path, root: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "vidact", "train", str(RECIPE), "--work-dir", str(work_dir), "--no-validate",
           *set_args(root, "checkpoint_config.iter_interval=1", workers=1, epochs=EPOCHS), *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _train_losses(work_dir: Path) -> dict[tuple[int, int], float]:
    """(epoch, iter) -> loss from log.jsonl; a record written again after a resume wins."""
    records = [json.loads(line) for line in (work_dir / "log.jsonl").read_text().splitlines() if line.strip()]
    return {(r["epoch"], r["iter"]): r["loss"] for r in records if r["mode"] == "train"}


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_auto(tmp_path):
    root = make_tiny(tmp_path / "data")

    reference = _train(tmp_path / "uninterrupted", root)
    out, errs = reference.communicate(timeout=600)
    assert reference.returncode == 0, errs

    work_dir = tmp_path / "killed"
    run = _train(work_dir, root)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and run.poll() is None:
        latest = work_dir / "latest.pth"
        target = latest.resolve().name if latest.is_symlink() else ""
        if target.startswith("iter_") and int(target[5:-4]) >= 5:  # the newest checkpoint is mid-epoch
            break
        time.sleep(0.02)
    assert run.poll() is None, "training ended before it could be killed; raise EPOCHS"
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=60)
    assert run.returncode == -signal.SIGKILL

    for path in work_dir.glob("*.pth"):  # whatever was on disk at the kill loads (temp files are hidden)
        if path.resolve().exists():
            load_checkpoint(path)
    resumed = _train(work_dir, root, "--resume", "auto", "--json")
    out, errs = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, errs
    assert "resumed from" in errs and "iteration" in errs
    summary = json.loads(out)
    assert summary["epochs"] == EPOCHS and not summary["interrupted"]

    expected, got = _train_losses(tmp_path / "uninterrupted"), _train_losses(work_dir)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == pytest.approx(expected[key], rel=1e-5, abs=1e-6), key
