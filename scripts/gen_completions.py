"""Regenerate completions/ from the app: `python scripts/gen_completions.py` (or `make completions`)."""

from pathlib import Path

import typer

from vidact.cli import app
from vidact.commands._completion import render_all
from vidact.io import atomic_write_text

root = typer.main.get_command(app)
out_dir = Path(__file__).resolve().parent.parent / "completions"
for name, text in render_all(root).items():
    atomic_write_text(out_dir / name, text)
    print(f"wrote {out_dir / name}")
