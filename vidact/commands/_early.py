"""What `vidact` does before it imports the command-line app (Typer, rich, every command).

`vidact extract-frames` with several workers needs multiprocessing's fork server, whose start
(an interpreter importing OpenCV, NumPy and PyAV, ~0.3 s) would otherwise wait for the app's
imports and the command's parsing (~0.3 s). Started from the raw arguments, it runs on another
core meanwhile. The command then runs without Typer (`read_extract_frames` gives it the
arguments Typer would; the app's parsing, ~0.1 s of CPU, would compete with the server for the
cores). A command line this reader does not follow to the letter starts nothing early and goes
to the app, which also does every --help and usage error.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

EXTRACT_WORKER_PRELOAD = ("__main__", "vidact.data.extract.run", "vidact.data.extract.video", "av") \
    if sys.version_info >= (3, 11) else ("av",)
"""What the workers' fork server preloads: vidact.data.extract.run.WORKER_PRELOAD (a test checks)."""
EXTRACT_WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1"}
"""The environment the server starts with: vidact.data.extract.run.WORKER_ENV (a test checks)."""

# extract-frames' options: the command's parameter each sets and how many values it takes (flags: none).
_EXTRACT_PARAMS = {"--out": ("out", 1), "-o": ("out", 1), "--short-side": ("short_side", 1),
                   "--new-size": ("new_size", 2), "--every": ("every", 1), "--quality": ("quality", 1),
                   "-q": ("quality", 1), "--flow-algo": ("flow_algo", 1), "--bound": ("bound", 1),
                   "--workers": ("workers", 1), "-j": ("workers", 1), "--shard": ("shard", 1),
                   "--report": ("report", 1), "--flow": ("flow", 0), "--overwrite": ("overwrite", 0),
                   "--json": ("json_out", 0)}
_EXTRACT_OPTIONS = {name: count for name, (_, count) in _EXTRACT_PARAMS.items()}
_INT_RANGES = {"short_side": (1, None), "every": (1, None), "quality": (0, 100), "workers": (0, None)}
_FLOW_ALGOS = ("dis", "farneback")


def start_early(argv: list[str]) -> None:
    """Start what the command line `argv` (without the program name) will need; nothing otherwise."""
    if extract_workers_wanted(argv):
        from vidact.parallel import start_fork_server

        start_fork_server(EXTRACT_WORKER_PRELOAD, EXTRACT_WORKER_ENV)


def extract_workers_wanted(argv: list[str]) -> bool:
    """True for an `extract-frames` command line that will start worker processes (as the command
    decides: more than one worker, and more than one video file's worth of input)."""
    values = read_extract_frames(argv)
    if values is None:
        return False
    from vidact.threads import available_cores

    if (values.get("workers", 0) or available_cores()) < 2:
        return False
    videos = values["videos"]
    return not (len(videos) == 1 and videos[0].is_file() and videos[0].suffix != ".txt")


def read_extract_frames(argv: list[str]) -> dict[str, Any] | None:
    """The arguments Typer would pass `extract_frames_command` for the command line `argv` (the
    options given, plus `videos`; `flow_algo` as its string), or None for anything this reader
    does not follow to the letter: --help, a usage error, a value out of range, short options
    run together (-j4), an option's value starting with '-'. The app then parses it itself.
    tests/commands/test_extract_frames_reader.py holds this reader to Typer's parse."""
    if not argv or argv[0] != "extract-frames":
        return None
    values: dict[str, Any] = {}
    videos: list[str] = []
    i = 1
    while i < len(argv):
        token = argv[i]
        name, eq, inline = token.partition("=")
        if token == "--":
            videos += argv[i + 1:]
            break
        if token in _EXTRACT_PARAMS:
            param, count = _EXTRACT_PARAMS[token]
            given = argv[i + 1:i + 1 + count]
            i += 1 + count
            if len(given) < count:
                return None
        elif eq and name.startswith("--") and _EXTRACT_OPTIONS.get(name) == 1:
            (param, count), given = _EXTRACT_PARAMS[name], [inline]
            i += 1
        elif token.startswith("-") and token != "-":
            return None
        else:
            videos.append(token)
            i += 1
            continue
        if any(not value or value.startswith("-") for value in given):
            return None
        try:
            values[param] = _converted(param, given) if count else True
        except ValueError:
            return None
    if not videos:
        return None
    values["videos"] = [Path(video) for video in videos]
    return values


def _converted(param: str, given: list[str]) -> Any:
    """One option's value as the command receives it; ValueError where Typer would refuse it
    (or might read it otherwise)."""
    if param in ("out", "report"):
        return Path(given[0])
    if param == "shard":
        return given[0]
    if param == "flow_algo":
        if given[0] not in _FLOW_ALGOS:
            raise ValueError(given[0])
        return given[0]
    if param == "bound":
        if not re.fullmatch(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", given[0]):
            raise ValueError(given[0])
        return float(given[0])
    numbers = [int(value) for value in given if value.isascii() and value.isdigit()]
    if len(numbers) < len(given):
        raise ValueError(given)
    if param == "new_size":
        return tuple(numbers)
    low, high = _INT_RANGES[param]
    if numbers[0] < low or (high is not None and numbers[0] > high):
        raise ValueError(given)
    return numbers[0]
