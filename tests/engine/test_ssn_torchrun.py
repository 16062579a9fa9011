"""SSN under torchrun (2 gloo processes on CPU): `vidact test` shards the videos and rank 0 writes the
same raw outputs as one process; validation during DDP training reports what testing its checkpoint
in one process gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.commands.test_ssn_cli import RECIPE, tiny_dataset, toy_overrides
from vidact.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.distributed]

TIMEOUT_S = 300
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "vidact"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    return env


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert proc.returncode == 0, f"{cmd} exited with {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    return proc


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """3 videos (an odd number: the ranks get 2 and 1) and the toy recipe's --set arguments."""
    root = tiny_dataset(tmp_path_factory.mktemp("ssn_ddp"))
    proposals = root / "proposals.txt"
    result = CliRunner().invoke(app, ["dataset", "synth-proposals", str(root / "gt.json"), "--classes",
                                      str(root / "classes.txt"), "--out", str(proposals)])
    assert result.exit_code == 0, result.output
    sets = [a for s in [*toy_overrides(root, proposals), "evaluation.interval=1"] for a in ("--set", s)]
    return root, sets


def test_distributed_test_writes_the_single_process_outputs(toy: tuple[Path, list[str]], tmp_path: Path) -> None:
    _, sets = toy
    _run([sys.executable, "-m", "vidact", "train", str(RECIPE), "--work-dir", str(tmp_path / "w"), "--no-validate",
          *sets])
    ckpt = str(tmp_path / "w" / "latest.pth")
    one = json.loads(_run([sys.executable, "-m", "vidact", "test", str(RECIPE), "--checkpoint", ckpt, "--out",
                           str(tmp_path / "one.npz"), "--eval", "mAP", "--json", *sets]).stdout)
    proc = _run([*TORCHRUN, "test", str(RECIPE), "--checkpoint", ckpt, "--out", str(tmp_path / "two.npz"),
                 "--eval", "mAP", "--json", *sets])
    assert "2/2 batches" in proc.stderr  # rank 0 scored its share (videos 0 and 1), rank 1 the third
    two = json.loads(proc.stdout)  # one JSON object: rank 0's
    assert one["num_samples"] == two["num_samples"] == 3 and one["num_proposals"] == two["num_proposals"]
    assert two["metrics"] == pytest.approx(one["metrics"], abs=1e-6)
    a, b = np.load(tmp_path / "one.npz"), np.load(tmp_path / "two.npz")
    assert sorted(a.files) == sorted(b.files)
    assert list(a["video_ids"]) == list(b["video_ids"]) == ["v_0", "v_1", "v_2"]
    for key in a.files:
        if a[key].dtype.kind == "f":
            np.testing.assert_allclose(b[key], a[key], rtol=0, atol=1e-6, err_msg=key)
        else:
            assert np.array_equal(a[key], b[key]), key
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically, by one rank


def test_distributed_validation_matches_testing_its_checkpoint(toy: tuple[Path, list[str]], tmp_path: Path) -> None:
    _, sets = toy
    work = tmp_path / "ddp"
    summary = json.loads(_run([*TORCHRUN, "train", str(RECIPE), "--work-dir", str(work), "--json", *sets]).stdout)
    (val,) = [r for r in map(json.loads, (work / "log.jsonl").read_text().splitlines()) if r["mode"] == "val"]
    assert val["epoch"] == 1 and set(summary["metrics"]) == set(val) - {"mode", "epoch"}
    assert Path(summary["best_checkpoint"]).name == "best_mAP@0.50_epoch_1.pth"
    tested = json.loads(_run([sys.executable, "-m", "vidact", "test", str(RECIPE), "--checkpoint",
                              str(work / "epoch_1.pth"), "--out", str(tmp_path / "raw.json"), "--eval", "mAP",
                              "--json", *sets]).stdout)
    assert tested["metrics"] == pytest.approx(summary["metrics"], abs=1e-6)
