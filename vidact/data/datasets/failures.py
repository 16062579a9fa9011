"""Bookkeeping for samples that fail to decode: log once, count, enforce a budget, report.

A dataset keeps one `FailureTracker`. Each process (the main one and every DataLoader worker)
keeps its own in-memory record, logs each bad sample once and applies the budget to what it has
seen itself. So the main process can still report what its workers saw, every process also
appends one JSON line per missed sample to `failures-<pid>.jsonl` in a folder chosen when the
dataset was built; `report()` merges those files. Nothing is written while every sample decodes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import tempfile
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path

from vidact.errors import DecodeError

log = logging.getLogger(__name__)

DEFAULT_BUDGET_FRACTION = 0.05
DEFAULT_BUDGET_MIN_COUNT = 10
_SHOWN_IN_ERROR = 3

FailureBudget = int | float | None
"""An int: how many distinct samples may fail; a float in [0, 1]: that fraction of the dataset
(rounded down); None: the default, the larger of 5% of the dataset and 10 samples."""


@dataclass(frozen=True)
class SampleFailure:
    """One sample that could not be decoded.

    Attributes:
        index: the sample's index in the dataset.
        path: its video file or frame folder.
        reason: the first decode error, e.g. "a.mp4: not a readable video (...)".
        count: how many times it was wanted (asked for, or tried in place of another) and replaced.
        substitute: the index served the last time it was asked for; None if it was only tried
            in place of another sample.
    """

    index: int
    path: str
    reason: str
    count: int
    substitute: int | None = None

    def __str__(self) -> str:
        return f"sample {self.index} ({self.path}), {self.count}x: {self.reason}"


def resolve_budget(budget: FailureBudget, num_samples: int) -> int:
    """The number of distinct failed samples tolerated for a dataset of `num_samples`.

    Raises:
        TypeError: `budget` is not an int, a float or None.
        ValueError: a negative count, or a fraction outside [0, 1].
    """
    if budget is None:
        return max(DEFAULT_BUDGET_MIN_COUNT, int(DEFAULT_BUDGET_FRACTION * num_samples))
    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        raise TypeError(f"failure_budget must be an int, a float or None, got {budget!r}")
    if isinstance(budget, int):
        if budget < 0:
            raise ValueError(f"failure_budget must be a count >= 0, got {budget}")
        return budget
    if not 0.0 <= budget <= 1.0 or math.isnan(budget):
        raise ValueError(f"failure_budget as a fraction must lie in [0, 1], got {budget}")
    return int(budget * num_samples)


class FailureTracker:
    """Samples of one dataset that failed to decode, as seen by this process (and, via files, its workers).

    Args:
        name: what error messages call the dataset (its annotation file).
        budget: see `FailureBudget`; resolved against the dataset length at each new failure.
    """

    def __init__(self, name: str, budget: FailureBudget = None) -> None:
        self.name = name
        self.budget = budget
        self.log_dir = os.path.join(tempfile.gettempdir(), f"vidact-decode-failures-{uuid.uuid4().hex}")
        self._owner_pid = os.getpid()
        self._failures: dict[int, SampleFailure] = {}
        self._sink_failed = False
        # Only the creating process removes the folder; forked workers inherit this finalizer.
        weakref.finalize(self, _remove_dir, self.log_dir, self._owner_pid)

    def __contains__(self, index: int) -> bool:
        return index in self._failures

    def __len__(self) -> int:
        return len(self._failures)

    def add(self, index: int, path: str, reason: str, num_samples: int) -> None:
        """Record a new failed sample and log it (once per process); `miss` counts its misses.

        Raises:
            DecodeError: more distinct samples failed in this process than the budget allows.
        """
        log.warning("%s: sample %d (%s) cannot be decoded, a neighbour is served instead: %s",
                    self.name, index, path, reason)
        self._failures[index] = SampleFailure(index, path, reason, 0)
        if len(self._failures) > resolve_budget(self.budget, num_samples):
            raise self._over_budget(num_samples)

    def miss(self, index: int, substitute: int | None = None) -> None:
        """Count one more time that the failed sample `index` was wanted and replaced (by `substitute`
        when it was the sample asked for), in memory and in this process's file."""
        new = _counted_once_more(self._failures[index], substitute)
        self._failures[index] = new
        self._append({"index": index, "path": new.path, "reason": new.reason, "substitute": substitute})

    def report(self) -> list[SampleFailure]:
        """Every failure seen by this process and by the worker processes that share its folder.

        Counts from different processes are added; sorted by index.
        """
        merged = dict(self._failures)
        for file in sorted(Path(self.log_dir).glob("failures-*.jsonl")) if os.path.isdir(self.log_dir) else ():
            if file.name == f"failures-{os.getpid()}.jsonl":
                continue  # this process's own lines are already in memory
            for event in _read_events(file):
                index = int(event["index"])
                old = merged.get(index) or SampleFailure(index, str(event["path"]), str(event["reason"]), 0)
                merged[index] = _counted_once_more(old, event.get("substitute"))
        return [merged[i] for i in sorted(merged)]

    def _append(self, event: dict) -> None:
        if self._sink_failed:
            return
        try:
            os.makedirs(self.log_dir, exist_ok=True)
            with open(os.path.join(self.log_dir, f"failures-{os.getpid()}.jsonl"), "a", encoding="utf-8") as fh:
                fh.write(json.dumps(event) + "\n")
        except OSError as exc:
            self._sink_failed = True
            log.warning("cannot record decode failures under %s (%s); failure_report() of the main "
                        "process will miss this worker's failures", self.log_dir, exc)

    def _over_budget(self, num_samples: int) -> DecodeError:
        failures = sorted(self._failures.values(), key=lambda f: f.index)
        shown = "; ".join(f"{f.path}: {f.reason}" for f in failures[:_SHOWN_IN_ERROR])
        more = f" (and {len(failures) - _SHOWN_IN_ERROR} more)" if len(failures) > _SHOWN_IN_ERROR else ""
        budget = "default" if self.budget is None else repr(self.budget)
        return DecodeError(
            f"{self.name}: {len(failures)} of {num_samples} samples failed to decode, more than the "
            f"failure budget allows ({resolve_budget(self.budget, num_samples)}, failure_budget={budget}): "
            f"{shown}{more}",
            hint="find the broken files with `vidact dataset check`, fix or drop them, "
                 "or raise the dataset's failure_budget",
        )


def _counted_once_more(failure: SampleFailure, substitute: int | None) -> SampleFailure:
    """`failure` with one more miss, and `substitute` as the latest substitute when given."""
    return SampleFailure(failure.index, failure.path, failure.reason, failure.count + 1,
                         substitute if substitute is not None else failure.substitute)


def _read_events(file: Path) -> list[dict]:
    events = []
    with contextlib.suppress(OSError):
        for line in file.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):  # a line cut short by a killed worker
                event = json.loads(line)
                if isinstance(event, dict) and {"index", "path", "reason"} <= event.keys():
                    events.append(event)
    return events


def _remove_dir(path: str, owner_pid: int) -> None:
    if os.getpid() == owner_pid:
        shutil.rmtree(path, ignore_errors=True)
