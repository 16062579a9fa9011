"""`vidact dataset build`: train/val annotation lists and classes.txt for a folder of videos or frames."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vidact.commands._common import JsonOpt, err, print_json


class BuildFormat(str, enum.Enum):
    videos = "videos"
    rawframes = "rawframes"


class SplitKindChoice(str, enum.Enum):
    ucf101 = "ucf101"
    hmdb51 = "hmdb51"
    kinetics = "kinetics"


def build_command(
    src: Annotated[Path, typer.Argument(help="Folder of videos, or of frame folders (class-per-subfolder, "
                                        "or flat with --split-file / --label-file).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the lists and classes.txt.",
                                      file_okay=False, show_default=False)],
    format: Annotated[BuildFormat, typer.Option("--format", help="What SRC holds.")] = BuildFormat.videos,
    split_ratio: Annotated[float, typer.Option("--split-ratio", min=0.0, max=0.99,
                                               help="Share of each class held out for validation.")] = 0.2,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the stratified split.")] = 0,
    split_file: Annotated[Path | None, typer.Option(
        "--split-file", help="Official split: UCF101 or HMDB51 split folder, or Kinetics CSV.",
        show_default=False)] = None,
    split_kind: Annotated[SplitKindChoice | None, typer.Option(
        "--split-kind", help="Kind of --split-file.", show_default=False)] = None,
    split_id: Annotated[int, typer.Option("--split-id", min=1, max=3, help="Which official split (1-3).")] = 1,
    label_file: Annotated[Path | None, typer.Option(
        "--label-file", help="Labels for a flat SRC: lines 'video class' (more classes per line with "
        "--multi-label).", show_default=False)] = None,
    with_offset: Annotated[bool, typer.Option("--with-offset", help="Rawframe lines 'dir 0 total label'.")] = False,
    multi_label: Annotated[bool, typer.Option("--multi-label", help="Several classes per --label-file line.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write train/val annotation lists (reference formats) and classes.txt for a dataset folder.

    Video lists have lines 'path label', rawframe lists 'frame_dir total_frames label' (frame count from
    the extract-frames manifest, else the image files). The split is stratified by --split-ratio, or
    taken from official split files (ucf101: folder with classInd.txt, trainlist01.txt, testlist01.txt;
    hmdb51: folder of <class>_test_split1.txt; kinetics: CSV label,youtube_id,time_start,time_end,split).

    Examples:

        vidact dataset build data/ucf101/videos --out data/ucf101 --split-file data/ucfTrainTestlist --split-kind ucf101

        vidact dataset build data/mydata/rawframes --out data/mydata --format rawframes --split-ratio 0.1 --json
    """
    from vidact.data.annotations.build import build_annotations

    result = build_annotations(
        src, out, format=format.value, split_ratio=split_ratio, seed=seed, split_file=split_file,
        split_kind=split_kind.value if split_kind else None, split_id=split_id, label_file=label_file,
        with_offset=with_offset, multi_label=multi_label)
    table = Table(title=f"{result.format} annotation lists", show_header=False)
    for name, count in result.counts.items():
        table.add_row(f"num_{name}", str(count))
    for role, path in result.files.items():
        table.add_row(role, str(path))
    err.print(table)
    if as_json:
        print_json(result.to_dict())
