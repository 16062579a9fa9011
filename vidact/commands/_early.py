"""Work `vidact` starts before it imports the command-line app (Typer, rich, every command).

`vidact extract-frames` with several workers needs multiprocessing's fork server, whose start
(an interpreter importing OpenCV, NumPy and PyAV, ~0.3 s) would otherwise wait for the app's
imports and the command's parsing (~0.3 s). Started from the raw arguments, it runs on another
core meanwhile. The command itself decides nothing here: it starts the server too (a no-op when
it runs), and a command line this reader does not follow to the letter starts nothing early.
"""

from __future__ import annotations

import sys
from pathlib import Path

EXTRACT_WORKER_PRELOAD = ("__main__", "vidact.data.extract.run", "vidact.data.extract.video", "av") \
    if sys.version_info >= (3, 11) else ("av",)
"""What the workers' fork server preloads: vidact.data.extract.run.WORKER_PRELOAD (a test checks)."""
EXTRACT_WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1"}
"""The environment the server starts with: vidact.data.extract.run.WORKER_ENV (a test checks)."""

# extract-frames options and how many values each takes; flags take none.
_EXTRACT_OPTIONS = {"--out": 1, "-o": 1, "--short-side": 1, "--new-size": 2, "--every": 1, "--quality": 1,
                    "-q": 1, "--flow-algo": 1, "--bound": 1, "--workers": 1, "-j": 1, "--shard": 1, "--report": 1,
                    "--flow": 0, "--overwrite": 0, "--json": 0}


def start_early(argv: list[str]) -> None:
    """Start what the command line `argv` (without the program name) will need; nothing otherwise."""
    if extract_workers_wanted(argv):
        from vidact.parallel import start_fork_server

        start_fork_server(EXTRACT_WORKER_PRELOAD, EXTRACT_WORKER_ENV)


def extract_workers_wanted(argv: list[str]) -> bool:
    """True for an `extract-frames` command line that will start worker processes (as the command
    decides: more than one worker, and more than one video file's worth of input)."""
    if not argv or argv[0] != "extract-frames":
        return False
    workers, positional, i = "0", [], 1
    while i < len(argv):
        token = argv[i]
        name, eq, value = token.partition("=")
        if token == "--":
            positional += argv[i + 1:]
            break
        if token in _EXTRACT_OPTIONS:
            count = _EXTRACT_OPTIONS[token]
            values = argv[i + 1:i + 1 + count]
            if len(values) < count:
                return False
            if token in ("--workers", "-j"):
                workers = values[0]
            i += count
        elif eq and name.startswith("--") and _EXTRACT_OPTIONS.get(name) == 1:
            if name == "--workers":
                workers = value
        elif token.startswith("-") and token != "-":
            return False  # --help, -j4, an unknown option: leave it to the command
        else:
            positional.append(token)
        i += 1
    if not (workers.isascii() and workers.isdigit()) or not positional:
        return False
    from vidact.threads import available_cores

    if (int(workers) or available_cores()) < 2:
        return False
    return not (len(positional) == 1 and Path(positional[0]).is_file() and Path(positional[0]).suffix != ".txt")
