"""`vidact dataset ...`: prepare datasets and their annotation files (`synth`, `build`, `convert ...`, `check`).

Each subcommand is one function on `app` (or on the `convert` sub-app) calling one library function.
"""

from __future__ import annotations

import enum
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vidact.commands._common import JsonOpt, WorkersOpt, default_workers, err, print_json
from vidact.data.synth_video import SynthResult, synth_localization, synth_recognition
from vidact.errors import InputError

if TYPE_CHECKING:
    from vidact.data.annotations.convert import ConvertResult

app = typer.Typer(help="Prepare datasets and their annotation files.", no_args_is_help=True)


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


@app.command("synth")
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

    generate = synth_recognition if kind is SynthKind.recognition else synth_localization
    started = time.perf_counter()
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
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


# ---- build ---------------------------------------------------------------------------------------


class BuildFormat(str, enum.Enum):
    videos = "videos"
    rawframes = "rawframes"


class SplitKindChoice(str, enum.Enum):
    ucf101 = "ucf101"
    hmdb51 = "hmdb51"
    kinetics = "kinetics"


@app.command("build")
def build_command(
    src: Annotated[Path, typer.Argument(help="Folder of videos, or of frame folders (class-per-subfolder, "
                                        "or flat with --split-file / --label-file).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the lists and classes.txt.",
                                      file_okay=False, show_default=False)],
    format: Annotated[BuildFormat, typer.Option("--format", help="What SRC holds.")] = BuildFormat.videos,
    split_ratio: Annotated[float, typer.Option("--split-ratio", min=0.0, max=0.99,
                                               help="Share of each class held out for validation.")] = 0.2,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the stratified split.")] = 0,
    split_file: Annotated[Path | None, typer.Option(
        "--split-file", help="Official split: UCF101 or HMDB51 split folder, or Kinetics CSV.",
        show_default=False)] = None,
    split_kind: Annotated[SplitKindChoice | None, typer.Option(
        "--split-kind", help="Kind of --split-file.", show_default=False)] = None,
    split_id: Annotated[int, typer.Option("--split-id", min=1, max=3, help="Which official split (1-3).")] = 1,
    label_file: Annotated[Path | None, typer.Option(
        "--label-file", help="Labels for a flat SRC: lines 'video class' (more classes per line with "
        "--multi-label).", show_default=False)] = None,
    with_offset: Annotated[bool, typer.Option("--with-offset", help="Rawframe lines 'dir 0 total label'.")] = False,
    multi_label: Annotated[bool, typer.Option("--multi-label", help="Several classes per --label-file line.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write train/val annotation lists (reference formats) and classes.txt for a dataset folder.

    Video lists have lines 'path label', rawframe lists 'frame_dir total_frames label' (frame count from
    the extract-frames manifest, else the image files). The split is stratified by --split-ratio, or
    taken from official split files (ucf101: folder with classInd.txt, trainlist01.txt, testlist01.txt;
    hmdb51: folder of <class>_test_split1.txt; kinetics: CSV label,youtube_id,time_start,time_end,split).

    Examples:

        vidact dataset build data/ucf101/videos --out data/ucf101 --split-file data/ucfTrainTestlist --split-kind ucf101

        vidact dataset build data/mydata/rawframes --out data/mydata --format rawframes --split-ratio 0.1 --json
    """
    from vidact.data.annotations.build import build_annotations

    result = build_annotations(
        src, out, format=format.value, split_ratio=split_ratio, seed=seed, split_file=split_file,
        split_kind=split_kind.value if split_kind else None, split_id=split_id, label_file=label_file,
        with_offset=with_offset, multi_label=multi_label)
    table = Table(title=f"{result.format} annotation lists", show_header=False)
    for name, count in result.counts.items():
        table.add_row(f"num_{name}", str(count))
    for role, path in result.files.items():
        table.add_row(role, str(path))
    err.print(table)
    if as_json:
        print_json(result.to_dict())


# ---- convert -------------------------------------------------------------------------------------

convert_app = typer.Typer(
    help="Convert temporal annotations: ActivityNet JSON <-> per-video JSON, THUMOS14 -> ActivityNet JSON or "
         "SSN list, proposal JSON -> SSN normalized proposal list.\n\n"
         "Example: vidact dataset convert anet-to-per-video activity_net.json --out data/anet",
    no_args_is_help=True)
app.add_typer(convert_app, name="convert")

InfoOpt = Annotated[Path | None, typer.Option(
    "--video-info", help="CSV 'video,numFrame,seconds,fps,rfps,featureFrame' (any subset of the columns).",
    show_default=False)]
FpsOpt = Annotated[float, typer.Option("--fps", min=0.001, help="Frame rate for videos --video-info does not list.")]
ClassesOpt = Annotated[Path | None, typer.Option(
    "--classes", help="classes.txt fixing the class order (SSN label = line index + 1); default: sorted names.",
    show_default=False)]
VideoDirOpt = Annotated[Path | None, typer.Option(
    "--video-dir", help="Folder of <video>.mp4 to probe for frame counts and fps.", show_default=False)]


def _report(result: ConvertResult, as_json: bool) -> None:
    for role, path in result.files.items():
        err.print(f"wrote {role}: {path}", highlight=False)
    err.print(", ".join(f"{k}: {v}" for k, v in result.counts.items()), highlight=False)
    if as_json:
        print_json(result.to_dict())


@convert_app.command("anet-to-per-video")
def anet_to_per_video_command(
    anet_json: Annotated[Path, typer.Argument(help="Official ActivityNet JSON ({\"database\": ...}).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for anet_anno_{train,val,test,full}.json.",
                                      file_okay=False, show_default=False)],
    video_info: InfoOpt = None,
    fps: FpsOpt = 30.0,
    as_json: JsonOpt = False,
) -> None:
    """ActivityNet JSON -> the per-video files of ActivityNetDataset, one per subset plus full.

    Example: vidact dataset convert anet-to-per-video activity_net.v1-3.min.json --out data/anet --video-info video_info_new.csv
    """
    from vidact.data.annotations.convert import anet_to_per_video

    _report(anet_to_per_video(anet_json, out, video_info=video_info, fps=fps), as_json)


@convert_app.command("per-video-to-anet")
def per_video_to_anet_command(
    files: Annotated[list[Path], typer.Argument(help="Per-video JSON files (subset from the name: train/val/test).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="ActivityNet JSON to write.", dir_okay=False,
                                      show_default=False)],
    subset: Annotated[str | None, typer.Option("--subset", help="Subset of every input file (training, "
                                               "validation, testing).", show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Per-video annotation files -> one official ActivityNet JSON.

    Example: vidact dataset convert per-video-to-anet anet_anno_train.json anet_anno_val.json --out activity_net.json
    """
    from vidact.data.annotations.convert import per_video_to_anet

    _report(per_video_to_anet(files, out, subset=subset), as_json)


@convert_app.command("thumos-to-anet")
def thumos_to_anet_command(
    ann_dir: Annotated[Path, typer.Argument(help="Folder of THUMOS14 <Class>_val.txt / <Class>_test.txt files.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="JSON to write.", dir_okay=False, show_default=False)],
    video_info: InfoOpt = None,
    video_dir: VideoDirOpt = None,
    fps: FpsOpt = 30.0,
    as_json: JsonOpt = False,
) -> None:
    """THUMOS14 temporal annotations -> ActivityNet-style JSON (for vidact eval and ActivityNetDataset tools).

    Example: vidact dataset convert thumos-to-anet TH14_Temporal_annotations_validation/annotation --out thumos_val.json --video-dir videos/val
    """
    from vidact.data.annotations.convert import thumos_to_anet

    _report(thumos_to_anet(ann_dir, out, video_info=video_info, video_dir=video_dir, fps=fps), as_json)


@convert_app.command("thumos-to-ssn")
def thumos_to_ssn_command(
    ann_dir: Annotated[Path, typer.Argument(help="Folder of THUMOS14 <Class>_val.txt / <Class>_test.txt files.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="SSN list to write.", dir_okay=False, show_default=False)],
    video_info: InfoOpt = None,
    video_dir: VideoDirOpt = None,
    classes: ClassesOpt = None,
    fps: FpsOpt = 30.0,
    as_json: JsonOpt = False,
) -> None:
    """THUMOS14 temporal annotations -> SSN proposal list (frame indices; ground truth, no proposals).

    Example: vidact dataset convert thumos-to-ssn annotation/ --out thumos14_val_gt_list.txt --video-dir videos/val
    """
    from vidact.data.annotations.convert import thumos_to_ssn

    _report(thumos_to_ssn(ann_dir, out, video_info=video_info, video_dir=video_dir, classes_file=classes, fps=fps),
            as_json)


@convert_app.command("proposals-to-ssn")
def proposals_to_ssn_command(
    proposals: Annotated[Path, typer.Argument(help="Proposal JSON {\"results\": {video: [{segment, score}]}}.")],
    gt: Annotated[Path, typer.Option("--gt", help="Ground truth (ActivityNet JSON, either layout).",
                                     show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Normalized list to write; its name contains "
                                      "'normalized_'. The frame-index list goes beside it without it.",
                                      dir_okay=False, show_default=False)],
    subset: Annotated[str, typer.Option("--subset", help="Ground-truth subset (official layout).")] = "validation",
    video_info: InfoOpt = None,
    classes: ClassesOpt = None,
    fps: FpsOpt = 30.0,
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, help="Keep the best K proposals per video.",
                                              show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Proposal JSON (e.g. from BMN) -> SSN normalized proposal list plus its frame-index version.

    Example: vidact dataset convert proposals-to-ssn bmn_results.json --gt thumos_val.json --out val_normalized_proposal_list.txt
    """
    from vidact.data.annotations.convert import proposals_to_ssn

    _report(proposals_to_ssn(proposals, gt, out, subset=subset, video_info=video_info, classes_file=classes,
                             fps=fps, top_k=top_k), as_json)


# ---- check ---------------------------------------------------------------------------------------


class ListFormatChoice(str, enum.Enum):
    auto = "auto"
    video = "video"
    rawframe = "rawframe"


@app.command("check")
def check_command(
    ann: Annotated[Path, typer.Argument(help="Video or rawframe list to check.", dir_okay=False, show_default=False)],
    data_prefix: Annotated[Path | None, typer.Option("--data-prefix", help="Folder the list's paths are relative to.",
                                                     file_okay=False, show_default=False)] = None,
    format: Annotated[ListFormatChoice, typer.Option("--format", help="List kind (auto: from the line shape).")
                      ] = ListFormatChoice.auto,
    backend: Annotated[str, typer.Option("--backend", help="Video decoder: pyav, opencv or decord.")] = "pyav",
    workers: WorkersOpt = 0,
    quarantine: Annotated[Path | None, typer.Option("--quarantine", help="Write the broken lines here, verbatim.",
                                                    dir_okay=False, show_default=False)] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write a JSON report here.", dir_okay=False,
                                                show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Pre-flight every entry of an annotation list: exists, decodes, frame count agrees; exit 1 if any is broken.

    Each video is opened and its first and last frame decoded; each frame folder's count (extract-frames
    manifest, else image files) must equal total_frames. Entries are checked in parallel.

    Examples:

        vidact dataset check data/ucf101/train_list_videos.txt --data-prefix data/ucf101/videos --quarantine bad.txt

        vidact dataset check train_list_rawframes.txt --data-prefix rawframes --report check.json --json
    """
    from vidact.data.annotations.check import check_annotations

    if backend not in ("pyav", "opencv", "decord"):
        raise InputError(f"--backend: expected pyav, opencv or decord, got {backend!r}")
    bar = Progress(TextColumn("check"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err)
    task = bar.add_task("check", total=None)

    def advance(done: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        result = check_annotations(ann, data_prefix=data_prefix, format=format.value, backend=backend,
                                   workers=default_workers(workers), progress=advance, quarantine=quarantine,
                                   report=report)
    finally:
        if bar.live.is_started:
            bar.stop()
    for problem in result.problems[:20]:
        err.print(f"{result.ann_file}:{problem.line_no}: {problem.path}: {problem.reason}", highlight=False,
                  markup=False)
    if len(result.problems) > 20:
        err.print(f"... and {len(result.problems) - 20} more", highlight=False)
    err.print(f"{result.total} entries: {result.ok} ok, {len(result.problems)} broken", highlight=False)
    if as_json:
        print_json(result.to_dict())
    if result.problems:
        raise typer.Exit(1)
