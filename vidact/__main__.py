"""`python -m vidact` runs the command-line app."""

import gc
import os
import sys


def main() -> None:
    """The app, except that a plain localization `vidact eval` skips Typer (see vidact/commands/_eval_fast.py)."""
    argv = sys.argv[1:]
    if argv[:1] == ["eval"]:
        _eval_without_typer(argv)  # returns only when the command line needs the app
    else:
        from vidact.commands._early import start_early

        start_early(argv)  # e.g. extract-frames' worker processes, while the app below imports
    from vidact.cli import main as cli_main

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


def _flush_and_exit(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be written anyway
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
