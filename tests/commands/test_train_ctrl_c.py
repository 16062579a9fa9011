"""Ctrl-C during `vidact train` (SIGINT to the whole process group, as a terminal sends it): the step
finishes, a mid-epoch checkpoint is written, stderr says where it is and the exact command that
resumes, exit 130; that command continues the run and says "resumed from" once."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidact.engine.checkpoint import load_checkpoint

from toy_data import RECIPE, make_tiny, set_args

EPOCHS = 40  # far more than runs before the test interrupts it


def _start(cmd: list[str]) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    # its own process group, like a job in a terminal: Ctrl-C reaches the loader worker too
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _train_records(work_dir: Path) -> int:
    log = work_dir / "log.jsonl"
    if not log.is_file():
        return 0
    return sum('"mode": "train"' in line for line in log.read_text().splitlines())


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: stderr is not a terminal here, so the log is 120 columns wide, and
    a checkpoint path too long for a line (a deep tmp_path, as under xdist) comes out cut."""
    with tempfile.TemporaryDirectory(prefix="vidact_", dir="/tmp" if os.path.isdir("/tmp") else None) as path:
        yield Path(path)


@pytest.mark.slow
def test_ctrl_c_checkpoints_and_prints_the_resume_command(tmp_path, short_dir):
    root = make_tiny(tmp_path / "data")
    work_dir = short_dir / "run"
    args = ["train", str(RECIPE), "--work-dir", str(work_dir), "--no-validate",
            *set_args(root, workers=1, epochs=EPOCHS)]
    run = _start([sys.executable, "-m", "vidact", *args])
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and run.poll() is None and _train_records(work_dir) < 2:
        time.sleep(0.02)
    assert run.poll() is None, run.communicate()[1]
    os.killpg(run.pid, signal.SIGINT)
    out, errs = run.communicate(timeout=120)
    assert run.returncode == 130, errs

    saved = sorted(work_dir.glob("interrupted_*.pth"))
    assert len(saved) == 1, errs
    meta = load_checkpoint(saved[0])["meta"]
    assert meta["iter"] >= 2
    assert (work_dir / "latest.pth").resolve() == saved[0].resolve()
    assert "Traceback" not in errs and "Ctrl-C again" in errs
    assert f"checkpoint {saved[0].resolve()}" in errs
    hint = [line for line in errs.splitlines() if line.startswith("resume with: ")]
    assert hint == [f"resume with: {shlex.join(['vidact', *args, '--resume', 'auto'])}"]

    # the printed command, stopped at the end of the interrupted epoch to keep the test short
    resume = shlex.split(hint[0].removeprefix("resume with: "))
    assert resume[0] == "vidact"
    epoch = meta["epoch"] + 1
    resumed = _start([sys.executable, "-m", "vidact", *resume[1:], "--set", f"total_epochs={epoch}", "--json"])
    out, errs = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, errs
    assert errs.count("resumed from") == 1, errs
    assert f"resumed from {saved[0]}" in errs
    summary = json.loads(out)
    assert summary["epochs"] == epoch and not summary["interrupted"] and summary["stop_signal"] is None
