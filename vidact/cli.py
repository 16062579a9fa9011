"""The root `vidact` app: registers the subcommands and is the one error boundary.

Library code raises `VidactError` subclasses; here they become one line on stderr plus an exit
code (2 for bad input, 1 for runtime failures). `--debug` or VIDACT_DEBUG=1 shows tracebacks.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from vidact import __version__
from vidact.commands import _common
from vidact.commands._boundary import report_error, setup_logging
from vidact.commands._clicklib import FRAMEWORK_EXCEPTIONS, show_flags_as_flags

log = logging.getLogger("vidact")
show_flags_as_flags()


class VidactGroup(TyperGroup):
    """Typer group whose `invoke` turns library errors into one-line messages and exit codes
    (`vidact.commands._boundary.report_error`, shared with the commands that run without Typer)."""

    def invoke(self, ctx: Any) -> Any:
        _common.refresh_consoles()
        try:
            return super().invoke(ctx)
        except FRAMEWORK_EXCEPTIONS:
            raise
        except BaseException as exc:  # VidactError, Ctrl-C, a closed pipe, a bug; SystemExit passes
            ctx.exit(report_error(exc))


app = typer.Typer(
    name="vidact",
    cls=VidactGroup,
    help="Video action understanding: datasets, training, testing, proposals and evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vidact {__version__}")
        raise typer.Exit()


def _log_levels(incomplete: str) -> list[str]:
    return [name for name in ("debug", "info", "warning", "error") if name.startswith(incomplete.lower())]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (also VIDACT_DEBUG=1).")] = False,
    log_level: Annotated[
        str, typer.Option("--log-level", autocompletion=_log_levels,
                          help="Logging level on stderr: debug, info, warning, error.")
    ] = "info",
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """vidact: action recognition and temporal action localization, from recipes to metrics."""
    if debug:
        os.environ["VIDACT_DEBUG"] = "1"
    _setup_logging(log_level)


def _setup_logging(level_name: str) -> None:
    level = getattr(logging, level_name.upper(), None)
    if not isinstance(level, int):
        raise typer.BadParameter(f"unknown log level '{level_name}'", param_hint="--log-level")
    setup_logging(level)


# Start-up rule: `vidact --help` and argument or recipe errors must not wait for torch (~1.5 s).
# Command modules import only typer, rich, the standard library and light vidact modules at the
# top; torch, cv2, av (and the engine, models, data pipelines that pull them in) are imported
# inside the command function, after the arguments and the recipe are checked.
# tests/test_startup.py fails when importing vidact.cli loads torch, cv2 or av.
def _register() -> None:
    """Attach every implemented subcommand. Unimplemented commands are simply not listed."""
    from vidact.commands import dataset, doctor, eval as eval_cmd, extract_frames, predict, recipe, test, train
    from vidact.commands import detections_to_regression

    app.add_typer(dataset.app, name="dataset")
    app.command("extract-frames")(extract_frames.extract_frames_command)
    app.command("eval")(eval_cmd.eval_command)
    app.command("doctor")(doctor.doctor_command)
    app.add_typer(recipe.app, name="recipe")
    app.command("train")(train.train_command)
    app.command("test")(test.test_command)
    app.command("predict")(predict.predict_command)
    from vidact.commands.extract_features import extract_features_command
    app.command("extract-features")(extract_features_command)
    from vidact.commands import proposals  # own line: merges with the import above stay trivial
    app.add_typer(proposals.app, name="proposals")
    app.command("detections-to-regression")(detections_to_regression.detections_to_regression_command)
    from vidact.commands import checkpoint  # own line: merges with the import above stay trivial
    app.add_typer(checkpoint.app, name="checkpoint")
    from vidact.commands import export  # own line: merges with the imports above stay trivial
    app.command("export")(export.export_command)


_register()


def main() -> None:
    """Console-script entry point."""
    app(prog_name="vidact")
