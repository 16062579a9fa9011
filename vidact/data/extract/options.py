"""What `extract-frames` writes and reports: constants, options, jobs, per-video results, run summary."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from vidact.errors import InputError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".flv", ".mpg", ".mpeg",
                    ".wmv", ".3gp", ".ts", ".mts", ".ogv")
IMG_TMPL = "img_{:05d}.jpg"
FLOW_TMPL = "{}_{:05d}.jpg"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "vidact-extract-frames/1"
FRAME_COUNT_POLICY = "vidact.data.decoding.count_frames(backend='pyav'): demuxed picture packets"
FLOW_ALGOS = ("dis", "farneback")

Status = Literal["extracted", "skipped", "failed"]
# (result, videos finished, videos total); first called with (None, 0, total) once the videos
# are known, then after each video.
Progress = Callable[["VideoResult | None", int, int], None]


@dataclass(frozen=True)
class ExtractOptions:
    """What to write for each video.

    Attributes:
        short_side: resize so the shorter side has this many pixels (aspect ratio kept).
        new_size: resize to exactly (width, height). Exclusive with `short_side`.
        every: keep every `every`-th frame (source frames 0, every, 2 * every, ...).
        quality: JPEG quality, 0-100.
        flow: also write optical flow between consecutive written frames.
        flow_algo: 'dis' (OpenCV DIS, medium preset) or 'farneback'.
        bound: flow is clipped to [-bound, bound] pixels and stored as
            `clip(flow, -bound, bound) * 255 / (2 * bound) + 128`, rounded to uint8.
    """

    short_side: int | None = None
    new_size: tuple[int, int] | None = None
    every: int = 1
    quality: int = 95
    flow: bool = False
    flow_algo: str = "dis"
    bound: float = 20.0

    def __post_init__(self) -> None:
        if self.short_side is not None and self.new_size is not None:
            raise InputError("--short-side and --new-size cannot be used together")
        if self.short_side is not None and self.short_side < 1:
            raise InputError(f"--short-side {self.short_side}: must be at least 1")
        if self.new_size is not None and min(self.new_size) < 1:
            raise InputError(f"--new-size {self.new_size[0]} {self.new_size[1]}: must be at least 1x1")
        if self.every < 1:
            raise InputError(f"--every {self.every}: must be at least 1")
        if not 0 <= self.quality <= 100:
            raise InputError(f"--quality {self.quality}: must be in [0, 100]")
        if self.flow_algo not in FLOW_ALGOS:
            raise InputError(f"--flow-algo {self.flow_algo!r}: expected one of {FLOW_ALGOS}")
        if not self.bound > 0:
            raise InputError(f"--bound {self.bound}: must be positive")

    def settings(self) -> dict[str, Any]:
        """The options as stored in manifests (JSON types), compared on re-runs."""
        settings = dataclasses.asdict(self)
        settings["new_size"] = list(self.new_size) if self.new_size else None
        if not self.flow:
            settings["flow_algo"] = settings["bound"] = None
        return settings

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of the written frames for a source of `width` x `height`."""
        if self.new_size is not None:
            return self.new_size
        if self.short_side is None:
            return width, height
        scale = self.short_side / min(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))


@dataclass(frozen=True)
class VideoJob:
    """One video to extract: its path and its output folder relative to the output root."""

    source: str
    rel: str


@dataclass(frozen=True)
class VideoResult:
    """What happened to one video; `reason` says why it failed."""

    source: str
    output: str
    status: Status
    frames: int = 0
    flow_frames: int = 0
    num_frames: int | None = None
    seconds: float = 0.0
    reason: str | None = None


@dataclass
class ExtractSummary:
    """Outcome of an extraction run (one shard of it when `shard` is set)."""

    out_dir: str
    shard: tuple[int, int] | None
    results: list[VideoResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        """Videos with this status."""
        return sum(r.status == status for r in self.results)

    @property
    def frames(self) -> int:
        """Frames written by this run (skipped videos excluded)."""
        return sum(r.frames for r in self.results if r.status == "extracted")

    @property
    def failures(self) -> list[VideoResult]:
        return [r for r in self.results if r.status == "failed"]

    def to_dict(self, *, videos: bool = False) -> dict[str, Any]:
        """Counts and failures; with `videos`, one entry per video as well (the report)."""
        summary = {
            "out_dir": self.out_dir,
            "shard": f"{self.shard[0]}/{self.shard[1]}" if self.shard else None,
            "videos": len(self.results),
            "extracted": self.count("extracted"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "frames": self.frames,
            "flow_frames": sum(r.flow_frames for r in self.results if r.status == "extracted"),
            "seconds": round(self.seconds, 3),
            "frames_per_sec": round(self.frames / self.seconds, 1) if self.seconds > 0 else None,
            "failures": [{"source": r.source, "reason": r.reason} for r in self.failures],
        }
        if videos:
            summary["results"] = [dataclasses.asdict(r) for r in self.results]
        return summary
