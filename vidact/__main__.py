"""`python -m vidact` runs the command-line app."""

import os
import sys


def main() -> None:
    """The app, except that a plain localization `vidact eval` skips Typer (see vidact/commands/_eval_fast.py)."""
    from vidact.commands._eval_fast import run_fast

    code = run_fast(sys.argv[1:])
    if code is not None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe or stream: nothing more can be written anyway
                pass
        # Everything is written; skip the interpreter's teardown, which frees the ~1M objects of a
        # large results file one by one (a twentieth of the run) for an exit that frees them all at once.
        os._exit(code)
    from vidact.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
