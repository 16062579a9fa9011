"""The few lines `make demo` ends with: what was trained, the metrics, where the outputs are, total time.

    python scripts/demo_recap.py DEMO_DIR SECONDS

Reads what scripts/demo.sh wrote under DEMO_DIR (the training work dir `toy_tsm/`, the dataset in
`synth/`, the toy BMN's `toy_bmn/` and the `*_metrics.json` files of `vidact eval --json`) and prints the recap on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# The figures worth a line per task, in this order (others are in the JSON files).
SHOWN = {
    "recognition_metrics.json": ("recognition", ("top1_acc", "mean_class_accuracy")),
    "proposal_metrics.json": ("BMN (AR@AN)", ("AR@1", "AR@100", "auc")),
    "sliding_window_metrics.json": ("baseline", ("AR@1", "AR@100", "auc")),
    "detection_metrics.json": ("detection", ("mAP@0.50", "average_mAP")),
}


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _count_lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0


def _metrics_line(path: Path, names: tuple[str, ...]) -> str | None:
    if not path.exists():
        return None
    metrics = json.loads(path.read_text()).get("metrics", {})
    picked = [(k, metrics[k]) for k in names if isinstance(metrics.get(k), (int, float))]
    if not picked:
        picked = [(k, v) for k, v in metrics.items() if isinstance(v, (int, float))][:3]
    return "  ".join(f"{k} {v:.4f}" for k, v in picked)


def recap(demo_dir: Path, seconds: float) -> list[str]:
    work, data = demo_dir / "toy_tsm", demo_dir / "synth"
    epochs = [json.loads(line)["epoch"] for line in (work / "log.jsonl").read_text().splitlines()
              if '"mode": "val"' in line] if (work / "log.jsonl").exists() else []
    best = work / "best.pth"
    lines = [f"== recap: make demo took {_duration(seconds)}",
             f"trained      recipes/toy/tsm.yaml (toy TSM, ResNet-18 x 3 stages, 8 segments) on "
             f"{_count_lines(data / 'train_list_videos.txt')} synthetic videos, {max(epochs, default=0)} epochs; "
             f"best checkpoint {best.resolve() if best.exists() else '(none)'}"]
    bmn_best = demo_dir / "toy_bmn" / "best.pth"
    if bmn_best.exists():
        lines.append(f"trained      recipes/toy/bmn.yaml (toy BMN) on the synthetic localization features; "
                     f"best checkpoint {bmn_best.resolve()}")
    for name, (task, keys) in SHOWN.items():
        line = _metrics_line(demo_dir / name, keys)
        if line is not None:
            lines.append(f"{task:<12} {line}")
    lines.append(f"outputs      {demo_dir}/: scores.json, ar_an.png, *_metrics.json; "
                 f"checkpoints and log.jsonl in {work}/")
    return lines


if __name__ == "__main__":
    print("\n".join(recap(Path(sys.argv[1]), float(sys.argv[2]))), file=sys.stderr)
