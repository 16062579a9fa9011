"""Manifests of extracted folders (what they hold, with which settings) and the run report."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from vidact.data.extract.options import (
    IMG_TMPL,
    MANIFEST,
    MANIFEST_FORMAT,
    ExtractOptions,
    ExtractSummary,
    VideoJob,
    VideoResult,
)
from vidact.io.files import atomic_write_text


def read_manifest(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest of an output folder, or None when it is missing or not ours."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT else None


def done_state(job: VideoJob, manifest: dict[str, Any] | None, target: Path,
                options: ExtractOptions) -> Literal["done", "todo", "stale"]:
    """'done': complete and current; 'stale': complete with other settings; else 'todo'."""
    if manifest is None:
        return "todo"
    if manifest.get("settings") != options.settings():
        return "stale"
    try:
        count = int(manifest["frames"]["count"])
        same_source = manifest["source"]["size"] == os.path.getsize(job.source)
    except (KeyError, TypeError, ValueError, OSError):
        return "todo"
    if not same_source or not (target / IMG_TMPL.format(count)).is_file():
        return "todo"
    return "done"


def skipped_result(job: VideoJob, manifest: dict[str, Any], target: Path) -> VideoResult:
    return VideoResult(job.source, str(target), "skipped", frames=manifest["frames"]["count"],
                       flow_frames=(manifest.get("flow") or {}).get("count", 0),
                       num_frames=manifest.get("video", {}).get("num_frames"))


def write_report(summary: ExtractSummary, path: str | os.PathLike) -> None:
    """Write the summary with one entry per video as JSON, atomically."""
    atomic_write_text(path, json.dumps(summary.to_dict(videos=True), indent=2) + "\n")
