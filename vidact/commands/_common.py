"""Option types, consoles and output helpers shared by every subcommand.

stdout carries data (with `--json`, exactly one JSON object); tables, progress and logs go to
stderr, so commands chain in shell pipelines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidact.io.console import err, out, refresh_consoles  # noqa: F401 - re-exported for the commands
from vidact.io.jsonout import _jsonable, print_json  # noqa: F401 - re-exported (Typer-free home: vidact eval's fast path)


# ---- shared option aliases ---------------------------------------------------------------------

JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY.PATH=VALUE",
        help="Override a recipe value (parsed as YAML), e.g. --set optimizer.lr=0.01. Repeatable.",
    ),
]
RecipeArg = Annotated[
    Path, typer.Argument(help="Recipe YAML file.", exists=False, dir_okay=False, show_default=False)
]
CheckpointOpt = Annotated[
    Path,
    typer.Option(
        "--checkpoint",
        metavar="CKPT",
        dir_okay=False,
        show_default=False,
        help="Checkpoint from vidact train or vidact checkpoint import, or an MMAction checkpoint (imported on the fly).",
    ),
]
WorkDirOpt = Annotated[
    Path | None, typer.Option("--work-dir", help="Directory for checkpoints, logs and outputs.")
]
WorkersOpt = Annotated[
    int,
    typer.Option("--workers", "-j", min=0, help="Parallel worker processes (0: all cores)."),
]


def default_workers(requested: int) -> int:
    """Resolve a `--workers` value: 0 means every core this process may use."""
    if requested > 0:
        return requested
    from vidact.threads import available_cores

    return available_cores()
