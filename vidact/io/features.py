"""Per-video snippet feature files (`.csv` with an `f0,f1,...` header, or `.npy`), the `video_info.json`
beside them, and joining two folders of them channel-wise (RGB and flow)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vidact.errors import InputError
from vidact.io.files import atomic_write, atomic_write_text

VIDEO_INFO = "video_info.json"


def write_features(path: Path, features: np.ndarray) -> None:
    """Write `(T, C)` features atomically: `.csv` with header `f0,f1,...`, or `.npy`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npy":
        with atomic_write(path, "wb") as fh:
            np.save(fh, features.astype(np.float32))
        return
    with atomic_write(path, "w", encoding="utf-8") as fh:
        np.savetxt(fh, features, fmt="%.6g", delimiter=",", comments="",
                   header=",".join(f"f{i}" for i in range(features.shape[1])))


def read_features(path: str | os.PathLike) -> np.ndarray:
    """`(T, C)` float32 features from a `.csv` (with a header line) or `.npy` file."""
    path = Path(path)
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False).astype(np.float32)
    return np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)


def update_video_info(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Merge `entries` into the `video_info.json` at `path` (locked, so shards may share a folder)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current: dict[str, Any] = {}
        if path.is_file():
            try:
                current = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise InputError(f"{path}: not valid JSON ({exc})", hint="remove it and run again") from None
        current.update(entries)
        atomic_write_text(path, json.dumps(dict(sorted(current.items())), indent=2) + "\n")


def concat_features(dirs: Sequence[str | os.PathLike], out_dir: str | os.PathLike) -> dict[str, Any]:
    """Concatenate, per video, the features in `dirs` (e.g. RGB then flow) along the channels.

    Videos present in every folder are written to `out_dir` in the first folder's format; their
    row counts must agree (extract both with the same `--temporal-dim`). The first folder's
    `video_info.json` is copied for those videos.

    Raises:
        InputError: fewer than two folders, no common video, or row counts that differ.
    """
    roots = [Path(d) for d in dirs]
    if len(roots) < 2:
        raise InputError("--concat needs at least two feature folders")
    for root in roots:
        if not root.is_dir():
            raise InputError(f"{root}: no such folder")
    tables = []
    for root in roots:
        files = {p.relative_to(root).with_suffix("").as_posix(): p
                 for p in root.rglob("*") if p.suffix in (".csv", ".npy") and not p.name.startswith(".")}
        tables.append(files)
    common = sorted(set(tables[0]).intersection(*tables[1:]))
    if not common:
        raise InputError(f"no video has features in every one of {', '.join(map(str, roots))}")
    out = Path(out_dir)
    dim = None
    for rel in common:
        parts = [read_features(files[rel]) for files in tables]
        if len({p.shape[0] for p in parts}) != 1:
            rows = ", ".join(f"{files[rel]}: {p.shape[0]}" for files, p in zip(tables, parts))
            raise InputError(f"{rel}: row counts differ ({rows})", hint="extract both with the same --temporal-dim")
        joined = np.concatenate(parts, axis=1)
        dim = joined.shape[1]
        write_features(out / f"{rel}{tables[0][rel].suffix}", joined)
    info_path = roots[0] / VIDEO_INFO
    if info_path.is_file():
        info = json.loads(info_path.read_text(encoding="utf-8"))
        update_video_info(out / VIDEO_INFO, {k: v for k, v in info.items() if k in set(common)})
    missing = sorted(set().union(*tables) - set(common))
    return {"out_dir": str(out), "videos": len(common), "feature_dim": dim, "not_in_every_folder": missing}
