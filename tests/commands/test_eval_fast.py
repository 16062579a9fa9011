"""The Typer-free path of `python -m vidact eval` prints what the Typer app prints and exits alike.

`run_fast` takes only plain localization command lines; everything else must come back as None so
the app handles it (help, plots, recognition, usage errors, root options).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from vidact.cli import app
from vidact.commands._eval_fast import parse_fast, run_fast
from vidact.data.synth import write_synth_activitynet


@pytest.fixture()
def files(tmp_path):
    paths = write_synth_activitynet(tmp_path, num_videos=12)
    bad = json.loads(paths["detections"].read_text())
    first = next(iter(bad["results"]))
    bad["results"][first][2]["label"] = "Not a class"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    return {"gt": str(paths["ground_truth"]), "proposals": str(paths["proposals"]),
            "detections": str(paths["detections"]), "bad": str(tmp_path / "bad.json"),
            "missing": str(tmp_path / "nope.json")}


def _cases(f):
    return [
        ["eval", "--metric", "mAP", "--ann", f["gt"], f["detections"], "--json"],
        ["eval", "--ann", f["gt"], f["proposals"]],  # AR@AN by default for JSON ground truth
        ["eval", f["detections"], "-m", "AR@AN", "--metric=map", "--ann=" + f["gt"], "--max-avg-proposals", "50",
         "--json"],
        ["eval", "--metric", "mAP", "--ann", f["gt"], "--subset", "testing", f["detections"]],  # no such subset
        ["eval", "--metric", "mAP", "--ann", f["gt"], f["bad"]],  # unknown label
        ["eval", "--metric", "mAP", "--ann", f["gt"], f["missing"], "--json"],  # no such file
        ["eval", "-m", "mAP", "--ann", "-", "-"],  # both on stdin
    ]


def test_fast_path_prints_what_the_app_prints(files, capsys):
    for argv in _cases(files):
        assert parse_fast(argv) is not None, argv
        code = run_fast(argv)
        fast = capsys.readouterr()
        typer_run = CliRunner().invoke(app, argv)
        assert (code, fast.out, fast.err) == (typer_run.exit_code, typer_run.stdout, typer_run.stderr), argv
    assert code == 2 and "stdin" in fast.err
    from vidact.io import files as io_files

    assert io_files._prefetched == {}  # what the refused call prefetched is not kept


@pytest.mark.parametrize("argv", [
    [], ["--debug", "eval", "--ann", "gt.json", "r.json"], ["eval", "--help"], ["eval", "-h"],
    ["eval", "--ann", "gt.json", "r.json", "--plot", "x.png"], ["eval", "--ann", "list.txt", "scores.npy"],
    ["eval", "--metric", "top_k_accuracy", "--ann", "gt.json", "r.json"], ["eval", "r.json"],
    ["eval", "--ann", "gt.json"], ["eval", "--ann", "gt.json", "a.json", "b.json"], ["eval", "--ann"],
    ["eval", "--ann", "gt.json", "--max-avg-proposals", "0", "r.json"], ["eval", "--ann", "--json", "r.json"],
    ["eval", "--ann", "gt.json", "--", "r.json"], ["eval", "--metric", "mAP", "--dataset", "thumos14", "r.json"],
    ["test", "--ann", "gt.json", "r.json"],
])
def test_everything_else_goes_to_the_app(argv):
    assert parse_fast(argv) is None


def test_python_m_vidact_takes_the_fast_path_without_typer(files):
    argv = ["eval", "--metric", "mAP", "--ann", files["gt"], files["detections"], "--json"]
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "vidact", *argv], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metrics"]["average_mAP"] >= 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "vidact.commands._eval_fast" in imported
    assert not imported & {"typer", "click", "torch", "pydantic", "vidact.cli"}, imported
