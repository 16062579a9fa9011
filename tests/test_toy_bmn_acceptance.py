"""Acceptance (issue 10): the toy BMN, driven only through the `vidact` CLI (synth -> train ->
proposals bmn -> eval), is clearly above the sliding-window baseline on synthetic localization data.

A different seed from the README's set, the toy recipe unchanged (15 epochs); about 3 minutes on 2
busy CPU cores. Measured on the README's set (seed 0): AR@100 0.871 / AUC 83.9 vs 0.711 / 51.8.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _vidact(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "vidact", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_toy_bmn_beats_the_sliding_window_baseline(tmp_path: Path) -> None:
    data, work = tmp_path / "synth_anet", tmp_path / "work"
    _vidact("dataset", "synth", "localization", "--out", str(data), "--num-videos", "200", "--temporal-scale", "32",
            "--feature-dim", "64", "--seed", "7")
    sets: list[str] = []
    for split, ann in (("train", "train"), ("val", "val"), ("test", "val")):
        sets += ["--set", f"data.{split}.ann_file={data / f'anet_anno_{ann}.json'}",
                 "--set", f"data.{split}.data_prefix={data / 'csv_mean_32'}"]
    _vidact("train", "recipes/toy/bmn.yaml", "--work-dir", str(work), *sets)
    _vidact("proposals", "bmn", "recipes/toy/bmn.yaml", "--checkpoint", str(work / "best.pth"),
            "--out", str(tmp_path / "bmn.json"), *sets)
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "sliding_window_baseline.py"), "--ann",
                    str(data / "anet_anno_val.json"), "--out", str(tmp_path / "sw.json")], check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    metrics = {}
    for name in ("bmn", "sw"):
        out = _vidact("eval", "--metric", "AR@AN", "--ann", str(data / "anet_anno_val.json"),
                      str(tmp_path / f"{name}.json"), "--json")
        metrics[name] = json.loads(out)["metrics"]
    print(f"toy BMN AR@100 {metrics['bmn']['AR@100']:.3f} AUC {metrics['bmn']['auc']:.1f}; sliding window "
          f"AR@100 {metrics['sw']['AR@100']:.3f} AUC {metrics['sw']['auc']:.1f}")
    assert metrics["bmn"]["AR@100"] >= metrics["sw"]["AR@100"] + 0.08
    assert metrics["bmn"]["auc"] >= metrics["sw"]["auc"] + 15
