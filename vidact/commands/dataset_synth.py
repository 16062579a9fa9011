"""`vidact dataset synth`: generate a synthetic recognition or localization dataset of real H.264 videos.

Parses the options, calls `synth_recognition` or `synth_localization`, and shows progress and a summary.
"""

from __future__ import annotations

import enum
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from vidact.commands._common import JsonOpt, WorkersOpt, default_workers, err, print_json
from vidact.errors import InputError
from vidact.io.progress import ElapsedOrEta

if TYPE_CHECKING:
    from vidact.data.synth_video import SynthResult


class SynthKind(str, enum.Enum):
    recognition = "recognition"
    localization = "localization"


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise typer.BadParameter(f"expected WIDTHxHEIGHT, e.g. 64x64; got {text!r}", param_hint="--size")
    return int(width), int(height)


def _only_for(kind: SynthKind, allowed: SynthKind, **given: object) -> None:
    """Refuse options that the other kind of dataset would silently ignore."""
    used = [f"--{name.replace('_', '-')}" for name, value in given.items() if value not in (None, False)]
    if kind is not allowed and used:
        raise InputError(f"{', '.join(used)}: only for `dataset synth {allowed.value}`")


def synth_command(
    kind: Annotated[SynthKind, typer.Argument(help="Which dataset: recognition (trimmed clips) or localization "
                                              "(untrimmed videos, ActivityNet-style).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Dataset root to create (must be empty unless --force).",
                                      file_okay=False, show_default=False)],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same dataset.")] = 0,
    videos_per_class: Annotated[int | None, typer.Option(
        "--videos-per-class", min=1, help="[recognition] Videos per class (default 250).", show_default=False)] = None,
    num_frames: Annotated[int | None, typer.Option(
        "--num-frames", min=2, help="[recognition] Frames per video (default 32).", show_default=False)] = None,
    num_videos: Annotated[int | None, typer.Option(
        "--num-videos", min=1, help="[localization] Untrimmed videos (default 100).", show_default=False)] = None,
    temporal_scale: Annotated[int | None, typer.Option(
        "--temporal-scale", min=2, help="[localization] Feature rows per video (default 100).",
        show_default=False)] = None,
    feature_dim: Annotated[int | None, typer.Option(
        "--feature-dim", min=1, help="[localization] Feature columns (default 400).", show_default=False)] = None,
    with_videos: Annotated[bool, typer.Option(
        "--with-videos", help="[localization] Also encode the untrimmed videos.")] = False,
    size: Annotated[str | None, typer.Option(
        "--size", metavar="WxH", help="Frame size of the videos (default 64x64).", show_default=False)] = None,
    fps: Annotated[float | None, typer.Option(
        "--fps", min=0.1, help="Frame rate (default 16 for recognition, 15 for localization).",
        show_default=False)] = None,
    val_ratio: Annotated[float, typer.Option("--val-ratio", min=0.0, max=0.99,
                                             help="Share of videos held out for validation.")] = 0.25,
    workers: WorkersOpt = 0,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty --out directory.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Generate a small synthetic dataset of real H.264 videos (moving shapes) and its annotations.

    recognition: the class is the direction of motion, so only temporal models (TSM, I3D) learn it.

    It writes videos/, train_list_videos.txt, val_list_videos.txt, classes.txt and dataset.json.

    localization: untrimmed videos with action segments, for BSN/BMN.

    It writes activity_net.json, anet_anno_{train,val,full}.json and csv_mean_100/<video>.csv.

    A progress bar and a summary go to stderr; --json prints the paths and counts on stdout.

    Examples:

        vidact dataset synth recognition --out data/synth

        vidact dataset synth localization --out data/synth_anet --num-videos 200 --with-videos --json
    """
    common = {"seed": seed, "val_ratio": val_ratio, "workers": default_workers(workers), "overwrite": force}
    for key, value in (("size", _parse_size(size)), ("fps", fps)):
        if value is not None:
            common[key] = value
    _only_for(kind, SynthKind.recognition, videos_per_class=videos_per_class, num_frames=num_frames)
    _only_for(kind, SynthKind.localization, num_videos=num_videos, temporal_scale=temporal_scale,
              feature_dim=feature_dim, with_videos=with_videos)
    given = {"num_videos_per_class": videos_per_class, "num_frames": num_frames, "num_videos": num_videos,
             "temporal_scale": temporal_scale, "feature_dim": feature_dim}
    options = {**common, **{k: v for k, v in given.items() if v is not None}}
    if kind is SynthKind.localization:
        options["with_videos"] = with_videos

    from vidact.data.synth_video import synth_localization, synth_recognition  # heavy (cv2, av): lazy

    generate = synth_recognition if kind is SynthKind.recognition else synth_localization
    started = time.perf_counter()
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), ElapsedOrEta(),
                   console=err)
    task = bar.add_task(f"synth {kind.value}", total=None)

    def advance(done: int, total: int) -> None:
        if not bar.live.is_started:  # shown once the inputs are valid and videos are being written
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        result = generate(out, progress=advance, **options)
    finally:
        if bar.live.is_started:
            bar.stop()
    _print_summary(result, time.perf_counter() - started)
    if as_json:
        print_json(result.to_dict())


def _print_summary(result: SynthResult, seconds: float) -> None:
    table = Table(title=f"synthetic {result.kind} dataset", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("root", str(result.out_dir))
    for name, count in result.counts.items():
        table.add_row(f"num_{name}", str(count))
    for role, path in result.files.items():
        table.add_row(role, str(path.relative_to(result.out_dir)))
    table.add_row("time", f"{seconds:.1f} s")
    err.print(table)
