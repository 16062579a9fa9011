"""Inputs of `extract-frames`: folders, `.txt` lists and files to video jobs; sharding."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from vidact.data.extract.options import VIDEO_EXTENSIONS, VideoJob
from vidact.errors import InputError


def discover_videos(inputs: Sequence[str | os.PathLike],
                    extensions: Sequence[str] = VIDEO_EXTENSIONS) -> list[VideoJob]:
    """Expand folders (recursively, by extension, hidden names skipped), `.txt` lists and files
    into jobs sorted by output path.

    A list holds one path per line (blank and `#` lines skipped; trailing integer fields, such as
    the labels of a video annotation list, ignored); relative paths are read against the list's
    folder and keep their folders in the output.

    Raises:
        InputError: an input is missing, a list names a missing file, no video was found, or two
            videos would land in the same output folder.
    """
    jobs: list[VideoJob] = []
    suffixes = tuple(ext.lower() for ext in extensions)
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = [p.relative_to(path) for p in path.rglob("*") if p.suffix.lower() in suffixes]
            jobs += [VideoJob(str(path / rel), rel.with_suffix("").as_posix()) for rel in found
                     if not any(part.startswith(".") for part in rel.parts) and (path / rel).is_file()]
        elif path.suffix.lower() == ".txt" and path.is_file():
            jobs += _read_list(path)
        elif path.is_file():
            jobs.append(VideoJob(str(path), path.stem))
        else:
            raise InputError(f"{path}: no such file or folder")
    if not jobs:
        raise InputError(f"no videos found in {', '.join(map(str, inputs))}",
                         hint=f"folders are searched for {', '.join(suffixes)}")
    jobs.sort(key=lambda job: (job.rel, job.source))
    _check_unique(jobs)
    return jobs


_LIST_LINE = re.compile(r"^(.*?)(?:\s+-?\d+)*\s*$")


def default_out_dir(inputs: Sequence[str | os.PathLike]) -> Path:
    """Where frames go without --out: `rawframes/` beside the first input (the reference layout,
    `data/ucf101/videos` -> `data/ucf101/rawframes`; `videos/` -> `rawframes/`)."""
    if not inputs:
        raise InputError("no input videos given")
    first = Path(inputs[0])
    parent = first.parent if first.name not in ("", ".", "..") else first
    return Path(os.path.normpath(parent / "rawframes"))


def _read_list(list_path: Path) -> list[VideoJob]:
    jobs = []
    for lineno, line in enumerate(list_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name = _LIST_LINE.match(line.strip()).group(1)
        path = Path(name)
        source = path if path.is_absolute() else list_path.parent / path
        if not source.is_file():
            raise InputError(f"{list_path}:{lineno}: {source}: no such file")
        rel = path.stem if path.is_absolute() else Path(os.path.normpath(path)).with_suffix("").as_posix()
        if rel.startswith("../"):
            rel = path.stem
        jobs.append(VideoJob(str(source), rel))
    return jobs


def _check_unique(jobs: list[VideoJob]) -> None:
    for first, second in zip(jobs, jobs[1:]):
        if first.rel == second.rel:
            if os.path.realpath(first.source) == os.path.realpath(second.source):
                raise InputError(f"{first.source}: given twice")
            raise InputError(f"{first.source} and {second.source} would both be extracted to '{first.rel}'",
                             hint="give them from different input folders, or rename one")


def parse_shard(text: str) -> tuple[int, int]:
    """Parse 'I/N' (0 <= I < N), e.g. '$SLURM_ARRAY_TASK_ID/8'."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not int(match[1]) < int(match[2]):
        raise InputError(f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/4")
    return int(match[1]), int(match[2])


def shard_jobs(jobs: Sequence[VideoJob], index: int, count: int) -> list[VideoJob]:
    """Shard `index` of `count` of the sorted jobs: every `count`-th job from `index`.

    The shards of 0..count-1 partition the jobs exactly, and depend only on the input list.
    """
    return list(jobs[index::count])

