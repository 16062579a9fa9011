"""Training progress for humans and machines: a live line on a terminal (laid out for its width),
plain log lines otherwise, and every record appended to a JSON-lines file in the work dir.

The bars of testing, prediction and validation are `vidact.io.progress.track`."""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidact.io.progress import format_seconds

log = logging.getLogger("vidact.train")

_BAR_MIN, _BAR_MAX = 15, 40  # columns of the training bar: at least, and at most


def eta_seconds(seconds_per_iter: float | None, remaining_iters: int) -> float | None:
    """Time left: the measured wall seconds per iteration times the iterations left (None until measured)."""
    if seconds_per_iter is None or not math.isfinite(seconds_per_iter):
        return None
    return max(0, remaining_iters) * seconds_per_iter


@dataclass
class TrainingStatus:
    """What the training line shows. Times are per step (one iteration), not sums over the log interval."""

    iteration: int
    total_iters: int
    epoch: int = 1
    max_epochs: int = 1
    eta_s: float | None = None
    loss: float | None = None
    lr: float | None = None
    data_s: float | None = None
    compute_s: float | None = None
    samples_per_s: float | None = None


def training_fields(status: TrainingStatus) -> tuple[list[str], list[str]]:
    """(fields always shown, fields shown while they fit, in priority order) after the bar."""
    eta = format_seconds(status.eta_s) if status.eta_s is not None else "?"
    required = [f"{status.iteration}/{status.total_iters}", f"eta {eta}"]
    if status.loss is not None:
        required.append(f"loss {status.loss:.4f}")
    optional = [f"epoch {status.epoch}/{status.max_epochs}"]
    if status.lr is not None:
        optional.append(f"lr {status.lr:.3g}")
    if status.data_s is not None:
        optional.append(f"data {status.data_s:.2f}s/step")
    if status.compute_s is not None:
        optional.append(f"compute {status.compute_s:.2f}s/step")
    if status.samples_per_s is not None:
        optional.append(f"{status.samples_per_s:.1f} samples/s")
    return required, optional


def layout_training_line(status: TrainingStatus, width: int) -> Any:
    """The training line fitted to `width` columns, as a rich `Text` of at most one row.

    Laid out for 80 columns first: the bar, iteration/total, ETA and loss always; then epoch, lr,
    data and compute time per step and throughput, each only while the bar keeps `_BAR_MIN`
    columns. The bar takes what is left, up to `_BAR_MAX`.
    """
    from rich.text import Text

    required, optional = training_fields(status)
    shown = list(required)
    used = sum(len(f) + 1 for f in shown)
    for field in optional:
        if width - used - len(field) - 1 < _BAR_MIN:
            break
        shown.append(field)
        used += len(field) + 1
    bar_width = max(1, min(_BAR_MAX, width - used))
    filled = round(bar_width * min(1.0, status.iteration / max(1, status.total_iters)))
    line = Text(no_wrap=True, overflow="crop")
    line.append("━" * filled, style="bar.complete")
    line.append("━" * (bar_width - filled), style="bar.back")
    line.append(" " + " ".join(shown))
    line.truncate(width)
    return line


class _TrainingLine:
    """A renderable that lays itself out for the console's current width on every refresh,
    so a resized terminal gets a line that fits instead of a wrapped, garbled one."""

    def __init__(self, status: TrainingStatus) -> None:
        self.status = status

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        yield layout_training_line(self.status, options.max_width)


def format_record(record: dict[str, Any]) -> str:
    """One log line: `epoch 2 [30/47] loss 0.4100 lr 0.05 data 0.02s/step compute 0.50s/step 32.0 samples/s eta 1m05s`."""
    if record.get("mode") == "val":
        values = " ".join(f"{k} {v:.4f}" for k, v in record.items() if k not in ("mode", "epoch"))
        return f"epoch {record['epoch']} val: {values}"
    losses = " ".join(f"{k} {v:.4f}" for k, v in record.items() if "loss" in k or k.endswith("_acc"))
    eta = record.get("eta_s")
    return (f"epoch {record['epoch']} [{record['iter']}/{record['iters_per_epoch']}] {losses} "
            f"lr {record['lr']:.3g} data {record['data_time']:.2f}s/step compute {record['time']:.2f}s/step "
            f"{record['samples_per_s']:.1f} samples/s eta {format_seconds(eta) if eta is not None else '?'}")


class ProgressReporter:
    """Shows training records and appends them to `jsonl_path`.

    On a terminal (stderr is a TTY) one live line carries the bar, iteration, ETA and the latest
    record, moving every iteration (`tick`); otherwise each record becomes an INFO log line, and
    `close` logs the iterations done and the real time they took. Warnings in a record (`warning`
    key) are logged as warnings.
    """

    def __init__(self, total_iters: int, done_iters: int = 0, jsonl_path: Path | None = None,
                 max_epochs: int = 1) -> None:
        self.jsonl_path = jsonl_path
        if jsonl_path is not None:
            jsonl_path.parent.mkdir(parents=True, exist_ok=True)
        self.status = TrainingStatus(iteration=done_iters, total_iters=total_iters, max_epochs=max_epochs)
        self._started = time.perf_counter()
        self._first_done: tuple[float, int] | None = None  # (time, iteration) at the first step's end
        self._done_at_start = done_iters
        self._live = None
        if sys.stderr.isatty():
            from rich.live import Live

            from vidact.io.console import err

            self._live = Live(_TrainingLine(self.status), console=err, refresh_per_second=4, transient=False,
                              redirect_stdout=False)
            self._live.start()

    def seconds_per_iter(self, now: float | None = None) -> float | None:
        """Mean wall seconds per iteration since the first step of this run ended (so start-up,
        loader workers spawning and the first step's warm-up do not skew it; validation does
        count, as it is part of the time still to wait)."""
        if self._first_done is None:
            return None
        t0, it0 = self._first_done
        done = self.status.iteration - it0
        return ((now or time.perf_counter()) - t0) / done if done > 0 else None

    def tick(self, iteration: int, epoch: int) -> None:
        """An iteration ended: move the bar and the ETA."""
        now = time.perf_counter()
        if self._first_done is None:
            self._first_done = (now, iteration)
        self.status.iteration, self.status.epoch = iteration, epoch
        self.status.eta_s = eta_seconds(self.seconds_per_iter(now), self.status.total_iters - iteration)

    def update(self, iteration: int, record: dict[str, Any]) -> None:
        if self.jsonl_path is not None:
            with open(self.jsonl_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        if "warning" in record:
            log.warning(record["warning"])
        record = {k: v for k, v in record.items() if k != "warning"}
        if record.get("mode") != "val":
            s = self.status
            s.loss, s.lr = record.get("loss"), record.get("lr")
            s.data_s, s.compute_s, s.samples_per_s = record.get("data_time"), record.get("time"), \
                record.get("samples_per_s")
        if self._live is None or record.get("mode") == "val":
            log.info(format_record(record))

    def close(self) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
            self._live = None
        done = self.status.iteration - self._done_at_start
        log.info("trained %d iterations in %s", done, format_seconds(time.perf_counter() - self._started))
