"""The error boundary and logging set-up of every command: the Typer app's group
(`vidact.cli.VidactGroup`) and root callback use them, and so do the commands `vidact/__main__.py`
runs without Typer (plain `eval` and `extract-frames`)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from rich.markup import escape

from vidact.errors import VidactError
from vidact.io import console


def run_command(command: Callable[[], object], exits: tuple[type[BaseException], ...] = ()) -> int:
    """Run `command` inside the boundary, with the consoles and logging of `vidact`'s root
    command; its exit code. `exits`: exceptions that end it with their `exit_code` (typer.Exit)."""
    console.refresh_consoles()
    setup_default_logging()
    try:
        command()
    except exits as exc:
        return exc.exit_code  # type: ignore[attr-defined]
    except BaseException as exc:
        return report_error(exc)
    return 0


def report_error(exc: BaseException) -> int:
    """One line (plus a hint) on stderr for an exception that ends a command, and its exit code:
    2 or 1 for a VidactError, 130 for Ctrl-C, 0 for a closed output pipe, 1 for a bug (an internal
    error). Re-raised with --debug / VIDACT_DEBUG, and for SystemExit and friends."""
    if isinstance(exc, Exception) and not isinstance(exc, BrokenPipeError) and debug_enabled():
        raise exc
    err = console.err
    if isinstance(exc, VidactError):
        err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
        if exc.hint:
            err.print(f"[dim]hint:[/] {escape(exc.hint)}", markup=True, highlight=False, soft_wrap=True)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        err.print("interrupted")
        return 130
    if isinstance(exc, BrokenPipeError):  # e.g. `vidact eval ... | head`
        sys.stderr.close()
        return 0
    if not isinstance(exc, Exception):
        raise exc  # SystemExit and friends
    err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}", markup=True,
              highlight=False, soft_wrap=True)
    err.print("[dim]hint:[/] rerun with --debug for the traceback and report it", markup=True)
    return 1


def debug_enabled() -> bool:
    return os.environ.get("VIDACT_DEBUG", "") not in ("", "0", "false", "no")


def setup_default_logging() -> None:
    """What the root command does with the default --log-level info."""
    setup_logging(logging.INFO)


def setup_logging(level: int) -> None:
    """vidact's loggers at `level`, through the one handler of vidact.io.console (no propagation)."""
    root = logging.getLogger("vidact")
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(console.log_handler())
    root.propagate = False
