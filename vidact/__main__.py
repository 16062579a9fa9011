"""`python -m vidact` runs the command-line app."""

import gc
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn


def main() -> None:
    """The app, except that a plain localization `vidact eval` (vidact/commands/_eval_fast.py) and
    a plain `vidact extract-frames` (vidact/commands/_early.py) skip Typer."""
    argv = sys.argv[1:]
    if argv[:1] == ["eval"]:
        _eval_without_typer(argv)  # returns only when the command line needs the app
    else:
        from vidact.commands._early import start_early

        start_early(argv)  # e.g. extract-frames' worker processes, while the app below imports
        if argv[:1] == ["extract-frames"]:
            _extract_frames_without_typer(argv)  # returns only when the command line needs the app
    from vidact.cli import main as cli_main

    if argv[:1] == ["extract-frames"]:
        _without_teardown(cli_main)  # does not return
    else:
        cli_main()


def _eval_without_typer(argv: list[str]) -> None:
    # That eval allocates a few million objects in under a second and makes no reference cycles
    # worth collecting: the cyclic collector would only rescan them (a tenth of the run).
    gc.disable()
    from vidact.commands._eval_fast import run_fast

    code = run_fast(argv)
    if code is None:
        gc.enable()
        return
    # Everything is written: skip the interpreter's teardown (modules and arrays released one by
    # one, a twentieth of the run); the exit releases it all at once.
    _flush_and_exit(code)


def _extract_frames_without_typer(argv: list[str]) -> None:
    from vidact.commands._early import read_extract_frames

    values = read_extract_frames(argv)
    if values is None:
        return
    from vidact.commands.extract_frames import run_without_typer

    _without_teardown(lambda: sys.exit(run_without_typer(values)))


def _without_teardown(run: "Callable[[], object]") -> "NoReturn":
    """Run the app, then exit as the interpreter would, minus its teardown; never returns.

    After `extract-frames` has waited for its workers, the parent's teardown (a few hundred
    modules released one by one) is the last ~40 ms of the command. Everything the interpreter
    does at exit that matters runs first: the atexit functions (multiprocessing's, logging's
    flush), then stdout and stderr are flushed. Where a non-daemon thread still runs, or the app
    exits with a message instead of a code, the normal exit follows instead.
    """
    import atexit
    import threading

    try:
        run()
        code = 0
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code
        if not isinstance(code, int):
            raise
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
    if others or run_exit_functions is None:
        sys.exit(code)
    run_exit_functions()
    _flush_and_exit(code)


def _flush_and_exit(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be written anyway
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
