"""`vidact proposals tem`: TEM action/start/end curves, one CSV per video (BSN stage 1)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vidact.commands._common import JsonOpt, RecipeArg, SetOpt, WorkersOpt, err, print_json
from vidact.io.progress import transient_progress


class Split(str, Enum):
    train = "train"
    val = "val"
    test = "test"


CheckpointOpt = Annotated[Path, typer.Option("--checkpoint", "-c", dir_okay=False, show_default=False,
                                             help="Checkpoint written by `vidact train` for this recipe.")]
ShardOpt = Annotated[str | None, typer.Option("--shard", metavar="I/N", show_default=False,
                                              help="Only shard I (0-based) of N of the videos sorted by name.")]


def parse_shard_option(shard: str | None) -> tuple[int, int] | None:
    """'I/N' -> (I, N), None stays None (one-line error for anything else)."""
    from vidact.data.extract.inputs import parse_shard

    return parse_shard(shard) if shard is not None else None


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Callable[..., None]]:
    """A transient progress bar on stderr; yields `update(done, total, label=None)` (a label renames it)."""
    with transient_progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int, label: str | None = None) -> None:
            bar.update(task, completed=done, total=total, **({"description": label} if label else {}))

        yield update


def tem_command(
    recipe: RecipeArg,
    checkpoint: CheckpointOpt,
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, help="Folder for the per-video TEM CSVs.")],
    split: Annotated[Split, typer.Option("--split", help="Which data split of the recipe to score.")] = Split.test,
    overrides: SetOpt = None,
    shard: ShardOpt = None,
    workers: WorkersOpt = 1,
    as_json: JsonOpt = False,
) -> None:
    """TEM curves for a data split: one `<video>.csv` per video (BSN stage 1).

    Columns action,start,end,tmin,tmax, one row per temporal position, as the reference writes them.

    Videos whose CSV exists are skipped, so a killed run resumes; files are written atomically.
    --workers sets the data loader processes (1: load in this process). RECIPE is a TEM recipe or
    a BSN chain recipe (its TEM stage).

    Examples:

        vidact proposals tem recipes/bsn_tem_400x100_activitynet.yaml -c work_dirs/bsn_tem/latest.pth --split val --out tem_results

        vidact proposals tem recipes/bsn_tem_400x100_activitynet.yaml -c tem.pth --out tem_results --shard 0/4 --json
    """
    from vidact.engine.bsn import tem_inference
    from vidact.schemas.load import load_recipe

    from vidact.engine.bsn_chain import tem_recipe
    from vidact.schemas.bsn import BSNChainSpec

    loaded = load_recipe(recipe, overrides or [])
    if isinstance(loaded, BSNChainSpec):  # a chain recipe: its TEM stage
        loaded = tem_recipe(loaded)
    shard_spec = parse_shard_option(shard)
    with progress_bar(f"TEM {split.value}") as update:
        summary = tem_inference(loaded, checkpoint, split.value, out, shard=shard_spec,
                                workers=0 if workers <= 1 else workers, progress=update)
    err.print(f"TEM {split.value}: {summary['written']} written, {summary['skipped']} already there -> {out}",
              highlight=False, soft_wrap=True)
    if as_json:
        print_json(summary)
