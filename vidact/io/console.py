"""The two rich consoles every part of vidact writes through: `out` (stdout, data) and `err`
(stderr, humans: progress, tables, logs). Sharing them keeps a progress bar and log lines from
garbling each other."""

from __future__ import annotations

import sys

from rich.console import Console

# Wide enough that tables and messages are not folded when stderr is a pipe or a log file.
_WIDTH = None if sys.stderr.isatty() else 120

out = Console(soft_wrap=True)
err = Console(stderr=True, width=_WIDTH)


def refresh_consoles() -> None:
    """Make the consoles write to whatever sys.stdout/sys.stderr are when they write (CliRunner
    swaps them per call; library code may run after such a stream was closed)."""
    out.file = None  # rich then looks up sys.stdout / sys.stderr on every write
    err.file = None
