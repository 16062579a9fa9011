"""`python -m vidact` runs the command-line app."""

import sys


def main() -> None:
    """The app, except that a plain localization `vidact eval` skips Typer (see vidact/commands/_eval_fast.py)."""
    from vidact.commands._eval_fast import run_fast

    code = run_fast(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from vidact.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
