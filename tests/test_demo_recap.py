"""`make demo` ends with a recap: what was trained, the metrics, where the outputs are, total time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_recap_names_the_run_metrics_outputs_and_time(tmp_path):
    demo = tmp_path / "demo_out"
    (demo / "synth").mkdir(parents=True)
    (demo / "toy_tsm").mkdir()
    (demo / "synth" / "train_list_videos.txt").write_text("a.mp4 0\nb.mp4 1\nc.mp4 2\n")
    (demo / "toy_tsm" / "best.pth").write_bytes(b"x")
    log = [{"mode": "train", "epoch": 1}, {"mode": "val", "epoch": 1, "top1_acc": 0.5},
           {"mode": "val", "epoch": 2, "top1_acc": 0.9}]
    (demo / "toy_tsm" / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    (demo / "recognition_metrics.json").write_text(json.dumps({"metrics": {"top1_acc": 0.984,
                                                                           "mean_class_accuracy": 0.98}}))
    (demo / "proposal_metrics.json").write_text(json.dumps({"metrics": {"AR@1": 0.1, "AR@100": 0.7, "auc": 64.2}}))
    (demo / "detection_metrics.json").write_text(json.dumps({"metrics": {"mAP@0.50": 0.42, "average_mAP": 0.3}}))
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo_recap.py"), str(demo), "372"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = proc.stderr
    assert proc.stdout == ""
    assert "make demo took 6m12s" in text
    assert "recipes/toy/tsm.yaml" in text and "3 synthetic videos, 2 epochs" in text
    assert str((demo / "toy_tsm" / "best.pth").resolve()) in text
    assert "top1_acc 0.9840" in text and "AR@100 0.7000" in text and "mAP@0.50 0.4200" in text
    assert f"{demo}/" in text
    assert len(text.splitlines()) <= 8
