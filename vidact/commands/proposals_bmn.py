"""`vidact proposals bmn`: BMN inference + post-processing -> ActivityNet proposals JSON."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vidact.commands._common import JsonOpt, RecipeArg, SetOpt, WorkersOpt, err, print_json
from vidact.io.progress import transient_progress


class Split(str, Enum):
    train = "train"
    val = "val"
    test = "test"


CheckpointOpt = Annotated[Path, typer.Option("--checkpoint", "-c", dir_okay=False, show_default=False,
                                             help="BMN checkpoint written by `vidact train` for this recipe.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", dir_okay=False, show_default=False,
                                      help="ActivityNet results JSON to write (atomically).")]
ShardOpt = Annotated[str | None, typer.Option("--shard", metavar="I/N", show_default=False,
                                              help="Only shard I (0-based) of N of the videos sorted by name.")]


@contextlib.contextmanager
def _progress_bar(label: str) -> Iterator[Callable[[int, int], Any]]:
    with transient_progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def bmn_command(
    recipe: RecipeArg,
    checkpoint: CheckpointOpt,
    out: OutOpt,
    split: Annotated[Split, typer.Option("--split", help="Which data split of the recipe to score.")] = Split.test,
    overrides: SetOpt = None,
    shard: ShardOpt = None,
    workers: WorkersOpt = 1,
    as_json: JsonOpt = False,
) -> None:
    """BMN proposals for a data split: {"version", "results": {video: [{"segment", "score"}]}, "external_data"}.

    Boundary and confidence maps are fused (start x end x cls x reg), soft-NMS'd with the recipe's
    soft_nms_* settings, and the best post_process_top_k proposals per video written in seconds,
    ready for `vidact eval --metric AR@AN`. --workers sets the data loader processes.

    Examples:

        vidact proposals bmn recipes/toy/bmn.yaml -c work_dirs/toy_bmn/best.pth --out results.json

        vidact proposals bmn recipes/bmn_400x100_activitynet.yaml -c best.pth --out val.json --split val --json
    """
    from vidact.engine.bmn import bmn_proposals
    from vidact.schemas.load import load_recipe

    loaded = load_recipe(recipe, overrides or [])
    shard_spec = None
    if shard is not None:
        from vidact.data.extract.inputs import parse_shard

        shard_spec = parse_shard(shard)
    with _progress_bar(f"BMN {split.value}") as update:
        summary = bmn_proposals(loaded, checkpoint, out, split=split.value, shard=shard_spec,
                                workers=0 if workers <= 1 else workers, progress=update)
    err.print(f"BMN {split.value}: {summary['num_proposals']} proposals for {summary['num_videos']} videos -> {out}",
              highlight=False, soft_wrap=True)
    if as_json:
        print_json(summary)
