"""`vidact dataset check`: pre-flight every entry of a video or rawframe annotation list."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from vidact.commands._common import JsonOpt, WorkersOpt, default_workers, err, print_json
from vidact.errors import InputError


class ListFormatChoice(str, enum.Enum):
    auto = "auto"
    video = "video"
    rawframe = "rawframe"


def check_command(
    ann: Annotated[Path, typer.Argument(help="Video or rawframe list to check.", dir_okay=False, show_default=False)],
    data_prefix: Annotated[Path | None, typer.Option("--data-prefix", help="Folder the list's paths are relative to.",
                                                     file_okay=False, show_default=False)] = None,
    format: Annotated[ListFormatChoice, typer.Option("--format", help="List kind (auto: from the line shape).")
                      ] = ListFormatChoice.auto,
    backend: Annotated[str, typer.Option("--backend", help="Video decoder: pyav, opencv or decord.")] = "pyav",
    workers: WorkersOpt = 0,
    quarantine: Annotated[Path | None, typer.Option("--quarantine", help="Write the broken lines here, verbatim.",
                                                    dir_okay=False, show_default=False)] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write a JSON report here.", dir_okay=False,
                                                show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Pre-flight every entry of an annotation list: exists, decodes, frame count agrees; exit 1 if any is broken.

    Each video is opened and its first and last frame decoded; each frame folder's count (extract-frames
    manifest, else image files) must equal total_frames. Entries are checked in parallel.

    Examples:

        vidact dataset check data/ucf101/train_list_videos.txt --data-prefix data/ucf101/videos --quarantine bad.txt

        vidact dataset check train_list_rawframes.txt --data-prefix rawframes --report check.json --json
    """
    from vidact.data.annotations.check import check_annotations

    if backend not in ("pyav", "opencv", "decord"):
        raise InputError(f"--backend: expected pyav, opencv or decord, got {backend!r}")
    bar = Progress(TextColumn("check"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err)
    task = bar.add_task("check", total=None)

    def advance(done: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        result = check_annotations(ann, data_prefix=data_prefix, format=format.value, backend=backend,
                                   workers=default_workers(workers), progress=advance, quarantine=quarantine,
                                   report=report)
    finally:
        if bar.live.is_started:
            bar.stop()
    for problem in result.problems[:20]:
        err.print(f"{result.ann_file}:{problem.line_no}: {problem.path}: {problem.reason}", highlight=False,
                  markup=False)
    if len(result.problems) > 20:
        err.print(f"... and {len(result.problems) - 20} more", highlight=False)
    err.print(f"{result.total} entries: {result.ok} ok, {len(result.problems)} broken", highlight=False)
    if as_json:
        print_json(result.to_dict())
    if result.problems:
        raise typer.Exit(1)
