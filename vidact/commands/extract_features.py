"""`vidact extract-features`: per-video snippet features of untrimmed videos for the localizers."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from vidact.commands import _common

_SNIP, _RUN = "Snippets", "Run"


class Format(str, Enum):
    csv, npy = "csv", "npy"


class Modality(str, Enum):
    rgb, flow = "rgb", "flow"


def extract_features_command(
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", show_default=False,
        help="Output folder: DIR/<video>.csv (or .npy) plus DIR/video_info.json.")],
    recipe: Annotated[Path | None, typer.Argument(metavar="RECIPE", show_default=False,
        help="Recognizer recipe YAML file.")] = None,
    videos: Annotated[list[str] | None, typer.Argument(metavar="VIDEOS...", show_default=False, help=(
        "Video files (flow: frame folders), folders searched recursively, @list.txt files; - reads paths "
        "from stdin."))] = None,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", metavar="CKPT", show_default=False,
        help="Checkpoint for RECIPE: written by vidact train or vidact checkpoint import, or an MMAction checkpoint (imported on the fly).")] = None,
    overrides: _common.SetOpt = None,
    temporal_dim: Annotated[int, typer.Option("--temporal-dim", min=0, metavar="T", rich_help_panel=_SNIP,
        help="Rows per video after linear interpolation (ActivityNet: 100); 0 keeps one row per snippet.")] = 100,
    snippet_stride: Annotated[int, typer.Option("--snippet-stride", min=1, metavar="N", rich_help_panel=_SNIP,
        help="Frames per snippet (one feature vector each).")] = 16,
    clip_len: Annotated[int | None, typer.Option("--clip-len", min=1, metavar="N", rich_help_panel=_SNIP,
        show_default=False, help="Frames per snippet clip; default from the recipe's test sampler.")] = None,
    fmt: Annotated[Format, typer.Option("--format", rich_help_panel=_SNIP, help="Output file format.")] = Format.csv,
    modality: Annotated[Modality, typer.Option("--modality", rich_help_panel=_SNIP,
        help="rgb: video files; flow: optical-flow folders from extract-frames --flow.")] = Modality.rgb,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1, metavar="N", rich_help_panel=_RUN,
        help="Snippets per forward pass.")] = 32,
    workers: Annotated[int, typer.Option("--workers", "-j", min=0, metavar="N", rich_help_panel=_RUN,
        help="Loader processes decoding while the model runs (0: decode in this process).")] = 1,
    shard: Annotated[str | None, typer.Option("--shard", metavar="I/N", rich_help_panel=_RUN, show_default=False,
        help="Only shard I (0-based) of N of the sorted inputs.")] = None,
    concat: Annotated[bool, typer.Option("--concat", help=(
        "Instead of extracting, concatenate per video the features of the folders given as arguments "
        "(e.g. RGB then flow) into --out."))] = False,
    json_out: _common.JsonOpt = False,
) -> None:
    """Snippet features of untrimmed videos (one file per video) for the proposal and detection models.

    Every --snippet-stride frames of a video give one snippet; its clip goes through the recipe's
    test transforms (centre crop) and the recognizer's backbone, pooled to one vector. Each video's
    sequence is resampled to --temporal-dim rows. Videos whose output exists are skipped; a
    video that cannot be decoded is reported and the run goes on (exit status 1).

    Examples:

        vidact extract-features recipes/toy/tsm.yaml --checkpoint work_dirs/toy_tsm/best.pth videos/ --out feats/

        vidact extract-features flow.yaml --checkpoint flow.pth --modality flow rawframes/ -o feats_flow

        vidact extract-features --concat feats_rgb feats_flow --out feats
    """
    if concat:
        from vidact.engine.features import concat_features

        result = concat_features([str(recipe or "")] + list(videos or []), out)
        if json_out:
            _common.print_json(result)
        _common.err.print(f"{result['videos']} videos, {result['feature_dim']} channels -> {escape(str(out))}",
                          highlight=False)
        return
    if recipe is None or checkpoint is None or not videos:
        raise typer.BadParameter("give RECIPE, --checkpoint and VIDEOS (or --concat DIR DIR)")
    from vidact.data.extract import parse_shard
    from vidact.engine.features import extract_features, gather_inputs
    from vidact.schemas.load import load_recipe

    loaded = load_recipe(recipe, overrides or [])
    jobs = gather_inputs(videos, modality=modality.value)
    with _progress() as bar:
        task = bar.add_task("features", total=None)
        summary = extract_features(
            loaded, checkpoint, jobs, out, temporal_dim=temporal_dim, snippet_stride=snippet_stride,
            clip_len=clip_len, fmt=fmt.value, modality=modality.value, batch_size=batch_size, workers=workers,
            shard=parse_shard(shard) if shard is not None else None,
            progress=lambda done, total: bar.update(task, completed=done, total=total))
    report = summary.to_dict()
    for failure in summary.failures:
        _common.err.print(f"[red]failed:[/] {escape(failure['reason'])}", highlight=False, soft_wrap=True)
    _common.err.print(f"{report['extracted']} extracted, {report['skipped']} skipped, {report['failed']} failed "
                      f"in {report['seconds']:.1f} s -> {escape(str(out))}", highlight=False)
    if json_out:
        _common.print_json(report)
    if summary.failures:
        raise typer.Exit(1)


def _progress():  # noqa: ANN202  (rich.progress is imported at run time)
    from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    from vidact.io.progress import transient_progress

    class _Speed(ProgressColumn):
        def render(self, task):  # noqa: ANN001, ANN202
            return Text(f"{task.speed:.2f} videos/s" if task.speed else "- videos/s")

    return transient_progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                              MofNCompleteColumn(), _Speed(), TimeRemainingColumn())
