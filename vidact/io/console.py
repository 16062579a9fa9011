"""The two rich consoles every part of vidact writes through: `out` (stdout, data) and `err`
(stderr, humans: progress, tables, logs). Sharing them keeps a progress bar and log lines from
garbling each other."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.text import Text

# Wide enough that tables and messages are not folded when stderr is a pipe or a log file.
_WIDTH = None if sys.stderr.isatty() else 120

out = Console(soft_wrap=True)
err = Console(stderr=True, width=_WIDTH)


def refresh_consoles() -> None:
    """Make the consoles write to whatever sys.stdout/sys.stderr are when they write (CliRunner
    swaps them per call; library code may run after such a stream was closed)."""
    out.file = None  # rich then looks up sys.stdout / sys.stderr on every write
    err.file = None


def log_handler() -> logging.Handler:
    """The handler of vidact's loggers: rich's on a terminal; elsewhere (a pipe, a log file, CI) one
    unwrapped line per record, `LEVEL    message`, so a long path in a message stays whole and greppable."""
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=err, show_time=False, show_path=False, markup=False)
    else:
        handler = _LineHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler


class _LineHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:  # noqa: BLE001 - logging's own convention: report, never raise
            self.handleError(record)
            return
        err.print(Text(f"{record.levelname:<8} {message}"), soft_wrap=True, highlight=False)
