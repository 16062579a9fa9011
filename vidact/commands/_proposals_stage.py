"""Shared by the per-video `vidact proposals` stages: `--shard`, the progress bar and the summary."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vidact.commands import _common
from vidact.io.progress import transient_progress

ShardOpt = Annotated[str | None, typer.Option(
    "--shard", metavar="I/N", show_default=False,
    help="Process only shard I (0-based) of N of the annotation's videos, e.g. $SLURM_ARRAY_TASK_ID/8.")]

_MAX_LISTED_FAILURES = 20


def parse_shard_option(text: str | None) -> tuple[int, int] | None:
    """`--shard I/N` as (I, N), or None when not given."""
    from vidact.data.extract.inputs import parse_shard

    return parse_shard(text) if text is not None else None


@contextlib.contextmanager
def stage_progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr over videos; yields the `(done, total)` callback the stages call."""
    bar = transient_progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("videos"),
                             TimeElapsedColumn(), TimeRemainingColumn())
    task = bar.add_task(label, total=None)

    def advance(done: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        yield advance
    finally:
        if bar.live.is_started:
            bar.stop()


def finish_stage(summary: Any, as_json: bool, rows_name: str) -> None:
    """Print the summary (stderr; one JSON object on stdout with --json); exit 2 if videos had bad input."""
    failed = summary.failed
    _common.err.print(
        f"{summary.stage}: {summary.videos} videos: {summary.written} written, {summary.existing} already done, "
        f"{len(failed)} skipped for bad input; {summary.rows} {rows_name} in {summary.seconds:.1f} s "
        f"-> {escape(summary.out_dir)}", highlight=False, soft_wrap=True)
    for failure in failed[:_MAX_LISTED_FAILURES]:
        _common.err.print(f"[red]skipped:[/] {escape(failure['video'])}: {escape(failure['error'])}",
                          highlight=False, soft_wrap=True)
    if len(failed) > _MAX_LISTED_FAILURES:
        _common.err.print(f"... and {len(failed) - _MAX_LISTED_FAILURES} more", highlight=False)
    if as_json:
        _common.print_json(summary.to_dict())
    if failed:
        raise typer.Exit(2)
