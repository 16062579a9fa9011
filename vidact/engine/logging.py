"""Training progress for humans and machines: a rich live line on a terminal, plain log lines
otherwise, and every record appended to a JSON-lines file in the work dir."""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("vidact.train")


def format_record(record: dict[str, Any]) -> str:
    """One human line: `epoch 2 [30/47] loss 0.41 lr 0.05 data 0.02s step 0.5s 32 samples/s eta 1m05s`."""
    if record.get("mode") == "val":
        values = " ".join(f"{k} {v:.4f}" for k, v in record.items() if k not in ("mode", "epoch"))
        return f"epoch {record['epoch']} val: {values}"
    losses = " ".join(f"{k} {v:.4f}" for k, v in record.items() if "loss" in k or k.endswith("_acc"))
    eta = record.get("eta_s")
    return (f"epoch {record['epoch']} [{record['iter']}/{record['iters_per_epoch']}] {losses} "
            f"lr {record['lr']:.3g} data {record['data_time']:.2f}s step {record['time']:.2f}s "
            f"{record['samples_per_s']:.1f} samples/s eta {format_seconds(eta) if eta is not None else '?'}")


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(math.ceil(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


class ProgressReporter:
    """Shows training records and appends them to `jsonl_path`.

    On a terminal (stderr is a TTY) a rich progress bar carries the latest line; otherwise each
    record becomes an INFO log line. Warnings in a record (`warning` key) are logged as warnings.
    """

    def __init__(self, total_iters: int, done_iters: int = 0, jsonl_path: Path | None = None) -> None:
        self.jsonl_path = jsonl_path
        if jsonl_path is not None:
            jsonl_path.parent.mkdir(parents=True, exist_ok=True)
        self._progress = None
        if sys.stderr.isatty():
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            from vidact.io.console import err

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                                      console=err, transient=False)
            self._task = self._progress.add_task("training", total=total_iters, completed=done_iters)
            self._progress.start()

    def update(self, iteration: int, record: dict[str, Any]) -> None:
        if self.jsonl_path is not None:
            with open(self.jsonl_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        if "warning" in record:
            log.warning(record["warning"])
        line = format_record({k: v for k, v in record.items() if k != "warning"})
        if self._progress is not None and record.get("mode") != "val":
            self._progress.update(self._task, completed=iteration, description=line)
        else:
            log.info(line)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
