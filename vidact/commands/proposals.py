"""`vidact proposals ...`: temporal action proposals, the BSN chain (TEM -> PGM -> BSP -> PEM) and BMN.

Each subcommand lives in its own module (`proposals_<name>.py`); this one builds the `proposals`
sub-app and registers them, one line each, in the order `vidact proposals --help` lists them.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    help="Temporal action proposals: BSN stages (tem, pgm, bsp, pem, run) and BMN.\n\n"
    "Example: vidact proposals pgm work/tem_results --ann anet_val.json --out work/pgm_proposals",
    no_args_is_help=True,
)


def _add(name: str, module: str, function: str) -> None:
    """Register `vidact.commands.<module>.<function>` as `vidact proposals <name>`."""
    app.command(name)(getattr(importlib.import_module(f"vidact.commands.{module}"), function))


# One line per subcommand (the BSN chain in stage order, then BMN).
_add("pgm", "proposals_pgm", "pgm_command")
_add("bsp", "proposals_bsp", "bsp_command")
_add("bmn", "proposals_bmn", "bmn_command")
