"""`vidact dataset ...`: prepare datasets and their annotation files (`synth`, `build`, `convert ...`, `check`).

Each subcommand lives in its own module (`dataset_synth`, `dataset_build`, `dataset_convert`, `dataset_check`);
this one builds the `dataset` sub-app and registers them, in the order `vidact dataset --help` lists them.
"""

from __future__ import annotations

import typer

from vidact.commands.dataset_build import build_command
from vidact.commands.dataset_check import check_command
from vidact.commands.dataset_convert import convert_app
from vidact.commands.dataset_synth import synth_command
from vidact.commands.dataset_synth_proposals import synth_proposals_command

app = typer.Typer(help="Prepare datasets and their annotation files.", no_args_is_help=True)
app.command("synth")(synth_command)
app.command("synth-proposals")(synth_proposals_command)
app.command("build")(build_command)
app.add_typer(convert_app, name="convert")
app.command("check")(check_command)
