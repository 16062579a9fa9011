"""`vidact recipe validate|show|import`: check recipes, print one resolved, translate an MMAction config."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from vidact.commands._common import JsonOpt, RecipeArg, SetOpt, err, print_json
from vidact.errors import RecipeError

app = typer.Typer(
    help="Check recipes, print them fully resolved (bases merged, overrides applied, defaults filled in), "
    "and translate MMAction configs into recipes.",
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


ConfigArg = Annotated[
    Path, typer.Argument(help="MMAction 0.x or 1.x Python config (read, never executed).", dir_okay=False,
                         show_default=False)
]
OutOpt = Annotated[
    Path, typer.Option("--out", "-o", help="Recipe YAML to write (atomically).", dir_okay=False, show_default=False)
]


class VideoDecoder(str, enum.Enum):
    pyav = "pyav"
    opencv = "opencv"
    decord = "decord"


DecoderOpt = Annotated[
    VideoDecoder | None,
    typer.Option("--video-decoder", help="Replace the config's video Init/Decode steps by this decoder's.",
                 show_default=False),
]


@app.command("import")
def import_command(
    config: ConfigArg, out: OutOpt, overrides: SetOpt = None, video_decoder: DecoderOpt = None, as_json: JsonOpt = False
) -> None:
    """Translate an MMAction 0.x/1.x Python config into a vidact recipe, without running it.

    The config is parsed, never executed: literals, dict()/list()/tuple(), names bound earlier,
    _base_ files (with _delete_) and {{_base_.x}} references are read. Whatever has no vidact
    counterpart (custom imports, hooks, unknown transforms, URLs to download) is listed with its
    config path on stderr and in the recipe's header, and skipped. --set applies to the translated
    recipe, which is validated before it is written. --json prints the translated and skipped lists.

    Examples:

        vidact recipe import tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py --out my_tsm.yaml

        vidact recipe import i3d_config.py -o i3d.yaml --video-decoder pyav --set model.backbone.pretrained=r50.pth
    """
    from vidact.io.files import atomic_write_text
    from vidact.schemas.mmimport import import_mmconfig

    result = import_mmconfig(config, overrides or [], video_decoder=video_decoder.value if video_decoder else None)
    atomic_write_text(out, result.to_yaml(config.name))
    for note in result.notes:
        err.print(Text(f"not run: {note}"), highlight=False, soft_wrap=True)
    for item in result.warnings:
        err.print(Text.assemble(("differs ", "red"), f"{item.path}: {item.reason}"), highlight=False, soft_wrap=True)
    for item in result.skipped:
        err.print(Text.assemble(("skipped ", "yellow"), f"{item.path}: {item.reason}"), highlight=False, soft_wrap=True)
    err.print(Text.assemble(("wrote", "green"), f" {out} ({len(result.translated)} entries translated, "
                            f"{len(result.skipped)} skipped)"), highlight=False)
    if as_json:
        print_json(result.summary() | {"out": str(out), "config": str(config)})
