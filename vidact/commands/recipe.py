"""`vidact recipe validate|show`: check recipe files, print a recipe as the engine will see it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from vidact.commands._common import JsonOpt, RecipeArg, SetOpt, err, print_json
from vidact.errors import RecipeError

app = typer.Typer(
    help="Check recipes and print them fully resolved (bases merged, overrides applied, defaults filled in).",
    no_args_is_help=True,
)

FilesArg = Annotated[
    list[Path], typer.Argument(help="Recipe YAML files to check.", dir_okay=False, show_default=False)
]


@app.command("validate")
def validate_command(files: FilesArg, overrides: SetOpt = None, as_json: JsonOpt = False) -> None:
    """Check recipe files and list every problem in each one.

    All files are checked; each problem names its key, and the base file when it was inherited.

    Exit code 2 if any file is invalid. Messages go to stderr; --json prints {"files": [...]}.

    Examples:

        vidact recipe validate recipes/*.yaml

        vidact recipe validate recipes/tsm_r50_kinetics400.yaml --set data.videos_per_gpu=4 --json
    """
    from vidact.schemas.load import recipe_problems  # pydantic models: ~0.15 s, not paid by other commands

    reports = [(path, recipe_problems(path, overrides or [])) for path in files]
    for path, problems in reports:
        if not problems:
            err.print(Text.assemble(("ok", "green"), f" {path}"), highlight=False)
            continue
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        err.print(Text.assemble(("invalid", "bold red"), f" {path} ({count})"), highlight=False)
        for problem in problems:
            err.print(Text(f"  {problem}"), highlight=False, soft_wrap=True)
    if as_json:
        print_json(
            {
                "files": [
                    {"path": str(path), "valid": not problems, "errors": [dataclasses.asdict(p) for p in problems]}
                    for path, problems in reports
                ]
            }
        )
    invalid = sum(1 for _, problems in reports if problems)
    if invalid:
        raise RecipeError(f"{invalid} of {len(reports)} recipe file{'s' if len(reports) != 1 else ''} invalid")


@app.command("show")
def show_command(file: RecipeArg, overrides: SetOpt = None, as_json: JsonOpt = False) -> None:
    """Print a recipe resolved and validated: bases merged, --set applied, defaults filled in.

    YAML on stdout (JSON with --json), keys in a stable order; the output is a valid recipe itself.

    Examples:

        vidact recipe show recipes/tsn_r50_kinetics400.yaml

        vidact recipe show recipes/i3d_r50_kinetics400.yaml --set optimizer.lr=0.005 > i3d_lr0005.yaml
    """
    from vidact.schemas.load import load_recipe  # pydantic models: ~0.15 s, not paid by other commands

    recipe = load_recipe(file, overrides or [])
    if as_json:
        print_json(recipe.to_plain())
    else:
        typer.echo(recipe.to_yaml(), nl=False)
