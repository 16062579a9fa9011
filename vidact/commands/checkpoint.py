"""`vidact checkpoint import`: turn an MMAction 0.x/1.x checkpoint into a vidact checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vidact.commands._common import JsonOpt, SetOpt, err, print_json

app = typer.Typer(help="Bring checkpoints from MMAction2 into vidact.", no_args_is_help=True)

CkptArg = Annotated[Path, typer.Argument(help="MMAction checkpoint: {'state_dict', 'meta'} or a bare state dict.",
                                         dir_okay=False, show_default=False)]
RecipeOpt = Annotated[Path, typer.Option("--recipe", "-r", help="Recipe describing the same model.", dir_okay=False,
                                         show_default=False)]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="vidact checkpoint to write (atomically).", dir_okay=False,
                                      show_default=False)]
PartialOpt = Annotated[bool, typer.Option("--allow-partial",
                                          help="Write the keys that map even when some are unmatched (listed).")]


@app.command("import")
def import_command(
    checkpoint: CkptArg,
    recipe: RecipeOpt,
    out: OutOpt,
    overrides: SetOpt = None,
    allow_partial: PartialOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Map every key of an MMAction checkpoint onto the recipe's model and write a vidact checkpoint.

    Every shape is checked. The file is read with weights_only=True: pickled objects (MMAction2 1.x
    logging state) become inert placeholders, never run. Keys unmatched on either side are an error
    (exit 2) unless --allow-partial. The summary (stderr) counts the tensors per module; --json
    prints it as one object.

    Examples:

        vidact checkpoint import tsm_r50_1x1x8_50e_k400.pth --recipe recipes/tsm_r50_kinetics400.yaml --out tsm.pth

        vidact checkpoint import i3d_ucf.pth -r recipes/i3d_r50_ucf101.yaml -o i3d.pth --set model.cls_head.num_classes=51
    """
    from vidact.engine.importing import import_checkpoint
    from vidact.schemas.load import load_recipe

    loaded = load_recipe(recipe, overrides or [])
    report = import_checkpoint(checkpoint, loaded, out, allow_partial=allow_partial)
    summary = report.summary() | {"out": str(out), "recipe": str(recipe)}
    table = Table()
    table.add_column("module")
    table.add_column("tensors", justify="right")
    for module, count in report.counts().items():
        table.add_row(module, str(count))
    err.print(table)
    err.print(f"{out}: {len(report.loaded)} tensors imported ({report.renamed} renamed)"
              + (f", {len(report.ignored)} ignored (no weights of ours)" if report.ignored else ""))
    if not report.complete:
        err.print(f"partial: {len(report.missing)} model keys kept their initial values, "
                  f"{len(report.unexpected)} checkpoint keys unused (see --json)")
    if as_json:
        print_json(summary)
