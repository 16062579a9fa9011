"""What both synthetic-video generators share: the result record, parameter checks and the job runner.

Seeding: video i draws from `np.random.default_rng((seed, stream, i))`, so the output does not
depend on the number of worker processes; dataset-level draws (split, ids) use `(seed, 0)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from vidact.data.synth_video.shapes import DIRECTIONS
from vidact.errors import InputError
from vidact.parallel import process_map
from vidact.io.files import atomic_write_text

# Random-stream tags: video i of a dataset draws from default_rng((seed, tag, i)).
_DATASET, _RECOGNITION, _LOC_META, _LOC_FEATURES, _LOC_VIDEO = 0, 1, 2, 3, 4

ProgressCallback = Callable[[int, int], None]  # (done, total), called after each video
_J = TypeVar("_J")


@dataclass(frozen=True)
class SynthResult:
    """What a synth run wrote.

    Attributes:
        kind: 'recognition' or 'localization'.
        out_dir: the dataset root; paths in `files` and in the annotation lists are under it.
        files: role (e.g. 'train_list', 'ann_train', 'features') -> path written.
        counts: e.g. videos, train, val (and segments for localization).
    """

    kind: Literal["recognition", "localization"]
    out_dir: Path
    files: dict[str, Path]
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (paths as strings)."""
        return {"kind": self.kind, "out_dir": str(self.out_dir),
                "files": {k: str(v) for k, v in self.files.items()}, "counts": dict(self.counts)}


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise InputError(f"{out_dir}: directory is not empty",
                         hint="choose an empty directory, or pass --force to write into it")
    out_dir.mkdir(parents=True, exist_ok=True)


def _check_common(size: tuple[int, int], fps: float, val_ratio: float, classes: Sequence[str]) -> None:
    width, height = size
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise InputError(f"size {width}x{height}: width and height must be even and at least 16 (yuv420p)")
    if not fps > 0:
        raise InputError(f"fps {fps}: must be positive")
    if not 0.0 <= val_ratio < 1.0:
        raise InputError(f"val_ratio {val_ratio}: must be in [0, 1)")
    unknown = [c for c in classes if c not in DIRECTIONS]
    if unknown or len(set(classes)) != len(classes) or len(classes) < 2:
        raise InputError(f"classes {list(classes)}: need 2 or more distinct directions from {list(DIRECTIONS)}")


def _run_jobs(fn: Callable[[_J], Any], jobs: Sequence[_J], workers: int, progress: ProgressCallback | None) -> list:
    """`[fn(job) for job in jobs]`, in order, over `workers` spawned processes when > 1."""
    return process_map(fn, jobs, workers, progress)


def _write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def _num_val(n: int, val_ratio: float) -> int:
    """Videos held out of `n`: round half up, at least 1 when val_ratio > 0, never all."""
    wanted = int(np.floor(val_ratio * n + 0.5))
    return min(max(wanted, 1 if val_ratio > 0 else 0), n - 1) if n > 1 else 0
