"""`vidact extract-frames`: videos to rawframe folders (img_00001.jpg..., optional x_/y_ flow)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from vidact.commands import _common
from vidact.commands._early import EXTRACT_WORKER_ENV, EXTRACT_WORKER_PRELOAD
from vidact.io.progress import transient_progress

if TYPE_CHECKING:
    from vidact.data.extract import ExtractSummary, VideoResult

_SIZE, _FLOW, _RUN = "Frames", "Optical flow", "Run"
_MAX_LISTED_FAILURES = 20


class FlowAlgo(str, Enum):
    dis, farneback = "dis", "farneback"


def extract_frames_command(
    videos: Annotated[list[Path], typer.Argument(metavar="VIDEOS", show_default=False, help=(
        "Video files, folders (searched recursively by extension) or .txt lists (one path per line)."))],
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="DIR", show_default=False, help=(
        "Output root: one folder per video at its path relative to the input folder, minus the extension. "
        "Default: rawframes/ beside the first input (videos/ -> rawframes/)."))] = None,
    short_side: Annotated[int | None, typer.Option("--short-side", min=1, metavar="N", rich_help_panel=_SIZE,
        show_default=False, help="Resize so the shorter side is N pixels (aspect ratio kept).")] = None,
    new_size: Annotated[tuple[int, int] | None, typer.Option("--new-size", metavar="W H", rich_help_panel=_SIZE,
        show_default=False, help="Resize to exactly W x H pixels.")] = None,
    every: Annotated[int, typer.Option("--every", min=1, metavar="N", rich_help_panel=_SIZE,
        help="Keep every Nth frame (source frames 0, N, 2N, ... become img_00001, img_00002, ...).")] = 1,
    quality: Annotated[int, typer.Option("--quality", "-q", min=0, max=100, metavar="Q", rich_help_panel=_SIZE,
        help="JPEG quality.")] = 95,
    flow: Annotated[bool, typer.Option("--flow", rich_help_panel=_FLOW, help=(
        "Also write optical flow x_00001.jpg/y_00001.jpg...: flow k is frame k -> k+1 (n frames, n-1 pairs)."))
    ] = False,
    flow_algo: Annotated[FlowAlgo, typer.Option("--flow-algo", rich_help_panel=_FLOW,
        help="OpenCV DIS (medium preset) or Farneback.")] = FlowAlgo.dis,
    bound: Annotated[float, typer.Option("--bound", metavar="PX", rich_help_panel=_FLOW,
        help="Flow stored as clip(flow, -PX, PX) * 255 / (2 PX) + 128.")] = 20.0,
    workers: _common.WorkersOpt = 0,
    shard: Annotated[str | None, typer.Option("--shard", metavar="I/N", rich_help_panel=_RUN, show_default=False,
        help="Extract only shard I (0-based) of N of the sorted inputs, e.g. $SLURM_ARRAY_TASK_ID/8.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", rich_help_panel=_RUN,
        help="Extract again videos already done (needed after changing the options).")] = False,
    report: Annotated[Path | None, typer.Option("--report", metavar="JSON", rich_help_panel=_RUN,
        show_default=False, help="Write the summary plus one entry per video (status, frames, reason).")] = None,
    json_out: _common.JsonOpt = False,
) -> None:
    """Extract JPEG frames (and optical flow) from videos, resumably and in parallel.

    Each video becomes DIR/<rel>/img_00001.jpg... plus manifest.json; with --every 1 the frame
    count equals count_frames(video), the count the datasets use. Videos already done are
    skipped on a re-run; a video that fails is reported and the run goes on (exit code 1).

    Examples:

        vidact extract-frames videos/       # frames to rawframes/

        vidact extract-frames data/ucf101/videos --out data/ucf101/rawframes --short-side 256

        vidact extract-frames train_list_videos.txt -o rawframes --flow --shard $SLURM_ARRAY_TASK_ID/8
    """
    workers = _common.default_workers(workers)
    if workers > 1 and not (len(videos) == 1 and videos[0].is_file() and videos[0].suffix != ".txt"):
        _start_workers_early()
    from vidact.data.extract import ExtractOptions, extract_frames, parse_shard, write_report  # heavy: lazy

    if out is None:
        from vidact.data.extract.inputs import default_out_dir

        out = default_out_dir(videos)
        _common.err.print(f"frames go to {escape(str(out))}/ (--out to choose)", highlight=False, soft_wrap=True)
    options = ExtractOptions(short_side=short_side, new_size=new_size, every=every, quality=quality,
                             flow=flow, flow_algo=flow_algo.value, bound=bound)
    shard_spec = parse_shard(shard) if shard is not None else None
    with _progress() as bar:
        task, frames = bar.add_task("extracting", total=None, frames=0), 0

        def advance(result: VideoResult | None, finished: int, total: int) -> None:
            nonlocal frames
            frames += result.frames if result is not None and result.status == "extracted" else 0
            bar.update(task, completed=finished, total=total, frames=frames)

        summary = extract_frames(videos, out, options, workers=workers,
                                 shard=shard_spec, overwrite=overwrite, progress=advance)
    if report is not None:
        write_report(summary, report)
    _render(summary, report)
    if json_out:
        _common.print_json(summary.to_dict())
    if summary.failures:
        raise typer.Exit(1)


def run_without_typer(values: dict[str, Any]) -> int:
    """`extract_frames_command` with the arguments `vidact.commands._early.read_extract_frames`
    read (those Typer would pass), inside the app's error boundary; its exit code."""
    from vidact.commands._boundary import run_command

    if "flow_algo" in values:
        values = {**values, "flow_algo": FlowAlgo(values["flow_algo"])}
    return run_command(lambda: extract_frames_command(**values), exits=(typer.Exit,))


def _start_workers_early() -> None:
    """Start the workers' fork server now, so its imports run on another core while this process
    imports the same libraries (OpenCV, NumPy, PyAV: ~0.3 s) instead of after."""
    from vidact.parallel import start_fork_server

    start_fork_server(EXTRACT_WORKER_PRELOAD, EXTRACT_WORKER_ENV)  # a no-op when vidact/__main__.py started it already


def _progress() -> Progress:
    return transient_progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                              MofNCompleteColumn(), TextColumn("videos, {task.fields[frames]} frames"),
                              TimeElapsedColumn(), TimeRemainingColumn())


def _render(summary: ExtractSummary, report: Path | None) -> None:
    counts = summary.to_dict()
    table = Table(title=f"extract-frames -> {escape(summary.out_dir)}", title_justify="left")
    for name in ("videos", "extracted", "skipped", "failed", "frames", "flow_frames", "seconds", "frames_per_sec"):
        table.add_column(name.replace("_", " "), justify="right")
    table.add_row(*(str(counts[name]) for name in ("videos", "extracted", "skipped", "failed", "frames",
                                                    "flow_frames", "seconds", "frames_per_sec")))
    _common.err.print(table)
    for failure in summary.failures[:_MAX_LISTED_FAILURES]:
        _common.err.print(f"[red]failed:[/] {escape(failure.source)}: {escape(failure.reason or '')}",
                          highlight=False, soft_wrap=True)
    if len(summary.failures) > _MAX_LISTED_FAILURES:
        more = len(summary.failures) - _MAX_LISTED_FAILURES
        _common.err.print(f"... and {more} more failures" + (f" (see {report})" if report else ""))
    if report is not None:
        _common.err.print(f"report: {escape(str(report))}", highlight=False)
