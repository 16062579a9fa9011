"""`vidact dataset convert ...`: temporal annotation conversions (ActivityNet, THUMOS14, SSN lists).

Each subcommand is one function on `convert_app` calling one function of `vidact.data.annotations.convert`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vidact.commands._common import JsonOpt, err, print_json

if TYPE_CHECKING:
    from vidact.data.annotations.convert import ConvertResult

convert_app = typer.Typer(
    help="Convert temporal annotations: ActivityNet JSON <-> per-video JSON, THUMOS14 -> ActivityNet JSON or "
         "SSN list, proposal JSON -> SSN normalized proposal list.\n\n"
         "Example: vidact dataset convert anet-to-per-video activity_net.json --out data/anet",
    no_args_is_help=True)

InfoOpt = Annotated[Path | None, typer.Option(
    "--video-info", help="CSV 'video,numFrame,seconds,fps,rfps,featureFrame' (any subset of the columns).",
    show_default=False)]
FpsOpt = Annotated[float, typer.Option("--fps", min=0.001, help="Frame rate for videos --video-info does not list.")]
SsnFpsOpt = Annotated[float | None, typer.Option(
    "--fps", min=0.001, show_default=False,
    help="Frame rate of the videos --video-info / --video-dir do not cover (no default: SSN lists count frames).")]
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
    fps: SsnFpsOpt = None,
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
    video_dir: VideoDirOpt = None,
    classes: ClassesOpt = None,
    fps: SsnFpsOpt = None,
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, help="Keep the best K proposals per video.",
                                              show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Proposal JSON (e.g. from BMN) -> SSN normalized proposal list plus its frame-index version.

    Frame counts and fps are read from the videos (--video-dir) or --video-info, as thumos-to-ssn
    reads them; --fps serves videos neither covers. Without any of them the command stops.

    Example: vidact dataset convert proposals-to-ssn bmn_results.json --gt thumos_val.json --out val_normalized_proposal_list.txt --video-dir videos/val
    """
    from vidact.data.annotations.convert import proposals_to_ssn

    _report(proposals_to_ssn(proposals, gt, out, subset=subset, video_info=video_info, video_dir=video_dir,
                             classes_file=classes, fps=fps, top_k=top_k), as_json)
