"""`vidact doctor`: tell a new user whether this machine can run vidact, and how to fix it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vidact.commands._common import JsonOpt, err, print_json
from vidact.system import run_checks

_STYLE = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[bold red]FAIL[/]"}


def doctor_command(
    work_dir: Annotated[Path, typer.Option("--work-dir", help="Where outputs will go (disk space is checked there).")] = Path("."),
    json_: JsonOpt = False,
) -> None:
    """Check Python, torch (CUDA, cuDNN, NCCL), PyAV/FFmpeg (H.264), OpenCV, decord, disk and cores.

    Exits 1 when something required is missing, printing the command that fixes it.

    Examples:

        vidact doctor

        vidact doctor --work-dir /data/work_dirs --json
    """
    checks = run_checks(work_dir.resolve())
    failed = [c for c in checks if c.status == "fail"]
    if json_:
        print_json({"ok": not failed, "checks": [c.to_dict() for c in checks]})
    table = Table(title="vidact doctor", show_lines=False)
    table.add_column("check")
    table.add_column("status")
    table.add_column("found")
    for c in checks:
        table.add_row(c.name, _STYLE[c.status], escape(c.found))
    err.print(table)
    for c in failed:
        err.print(f"[bold red]{c.name}:[/] fix: {escape(c.fix or '')}")
    if failed:
        raise typer.Exit(1)
    err.print("[green]this machine can run vidact[/]")
