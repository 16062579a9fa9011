"""The PGM and BSP stages of BSN over a folder of videos: one output file per video, resumable.

`run_pgm` writes `<out>/<video>.csv` (the PGM proposal CSV) and `run_bsp` `<out>/<video>.npy` (the
BSP feature), each atomically; videos whose output exists are skipped, so a killed run resumes.
A video with bad input (no TEM file, a missing column, zero duration) is logged, counted and
skipped; the rest go on. `vidact proposals pgm|bsp|run` drive these.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vidact.errors import InputError, VidactError
from vidact.io.proposals import write_bsp_feature, write_pgm_proposals
from vidact.localization.bsn import generate_bsp_feature, generate_candidate_proposals
from vidact.parallel import process_map

log = logging.getLogger(__name__)

Progress = Callable[[int, int], Any]
"""Called with (videos finished, videos to do)."""


@dataclass
class StageSummary:
    """Outcome of one PGM or BSP run (of one shard when `shard` is set)."""

    stage: str
    out_dir: str
    shard: tuple[int, int] | None
    videos: int = 0
    """Videos of the annotation file (in this shard)."""
    written: int = 0
    existing: int = 0
    """Skipped because their output was already there."""
    failed: list[dict[str, str]] = field(default_factory=list)
    """{"video", "error"} for each video skipped for bad input."""
    rows: int = 0
    """Proposals (PGM) or feature rows (BSP) written by this run."""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (`--json`)."""
        return asdict(self) | {"shard": list(self.shard) if self.shard else None}


def shard_indices(num_videos: int, shard: tuple[int, int] | None) -> list[int]:
    """Indexes of shard `(index, count)` of the videos (every count-th from index), or all."""
    if shard is None:
        return list(range(num_videos))
    index, count = shard
    if not 0 <= index < count:
        raise InputError(f"--shard {index}/{count}: expected I/N with 0 <= I < N")
    return list(range(index, num_videos, count))


def run_pgm(
    video_infos: Sequence[Mapping[str, Any]],
    tem_results_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    temporal_scale: int = 100,
    peak_threshold: float = 0.5,
    shard: tuple[int, int] | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> StageSummary:
    """Run `generate_candidate_proposals` on every video (of the shard) and write one proposal CSV each."""
    task = functools.partial(_pgm_video, tem_results_dir=str(tem_results_dir), out_dir=str(out_dir),
                             temporal_scale=temporal_scale, peak_threshold=peak_threshold)
    return _run("pgm", ".csv", task, video_infos, [tem_results_dir], out_dir, shard, workers, progress)


def run_bsp(
    video_infos: Sequence[Mapping[str, Any]],
    tem_results_dir: str | os.PathLike,
    pgm_proposals_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    top_k: int = 1000,
    bsp_boundary_ratio: float = 0.2,
    num_sample_start: int = 8,
    num_sample_end: int = 8,
    num_sample_action: int = 16,
    num_sample_interp: int = 3,
    shard: tuple[int, int] | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> StageSummary:
    """Run `generate_bsp_feature` on every video (of the shard) and write one `.npy` feature each."""
    task = functools.partial(
        _bsp_video, tem_results_dir=str(tem_results_dir), pgm_proposals_dir=str(pgm_proposals_dir),
        out_dir=str(out_dir), options=dict(top_k=top_k, bsp_boundary_ratio=bsp_boundary_ratio,
                                           num_sample_start=num_sample_start, num_sample_end=num_sample_end,
                                           num_sample_action=num_sample_action, num_sample_interp=num_sample_interp))
    return _run("bsp", ".npy", task, video_infos, [tem_results_dir, pgm_proposals_dir], out_dir, shard, workers,
                progress)


def _run(stage: str, ext: str, task: Callable[[Mapping[str, Any]], tuple[int, str | None]],
         video_infos: Sequence[Mapping[str, Any]], input_dirs: Sequence[str | os.PathLike],
         out_dir: str | os.PathLike, shard: tuple[int, int] | None, workers: int,
         progress: Progress | None) -> StageSummary:
    started = time.perf_counter()
    for folder in input_dirs:
        if not Path(folder).is_dir():
            raise InputError(f"{folder}: no such folder")
    summary = StageSummary(stage, str(out_dir), shard)
    chosen = [video_infos[i] for i in shard_indices(len(video_infos), shard)]
    summary.videos = len(chosen)
    todo = [info for info in chosen if not Path(out_dir, f"{info['video_name']}{ext}").exists()]
    summary.existing = len(chosen) - len(todo)
    if summary.existing:
        log.info("%s: %d of %d videos already done in %s", stage, summary.existing, len(chosen), out_dir)
    for info, (rows, error) in zip(todo, process_map(task, todo, workers, progress)):
        if error is None:
            summary.written += 1
            summary.rows += rows
        else:
            log.warning("%s: skipped video %r: %s", stage, info["video_name"], error)
            summary.failed.append({"video": str(info["video_name"]), "error": error})
    summary.seconds = time.perf_counter() - started
    return summary


def _pgm_video(info: Mapping[str, Any], *, tem_results_dir: str, out_dir: str, temporal_scale: int,
               peak_threshold: float) -> tuple[int, str | None]:
    """PGM for one video: (proposals written, None), or (0, the reason it was skipped)."""
    try:
        proposals = generate_candidate_proposals([0], [info], tem_results_dir, temporal_scale,
                                                 peak_threshold)[info["video_name"]]
    except VidactError as exc:
        return 0, str(exc)
    write_pgm_proposals(Path(out_dir, f"{info['video_name']}.csv"), proposals)
    return len(proposals), None


def _bsp_video(info: Mapping[str, Any], *, tem_results_dir: str, pgm_proposals_dir: str, out_dir: str,
               options: dict[str, Any]) -> tuple[int, str | None]:
    """BSP for one video: (feature rows written, None), or (0, the reason it was skipped)."""
    try:
        feature = generate_bsp_feature([0], [info], tem_results_dir, pgm_proposals_dir,
                                       **options)[info["video_name"]]
    except VidactError as exc:
        return 0, str(exc)
    write_bsp_feature(Path(out_dir, f"{info['video_name']}.npy"), feature)
    return len(feature), None
