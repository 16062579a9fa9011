"""`vidact detections-to-regression`: SSN raw outputs or detections -> regression + temporal NMS -> detections."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from vidact.commands._common import err
from vidact.errors import InputError


class OutFormat(str, enum.Enum):
    json = "json"
    anet = "anet"
    thumos = "thumos"


def detections_to_regression_command(
    input: Annotated[str, typer.Argument(metavar="INPUT", show_default=False, help=(
        "Raw SSN output of `vidact test` (.json / .npz) or per-class detections JSON; '-' reads stdin."))],
    out: Annotated[str, typer.Option("--out", "-o", metavar="OUT", show_default=False,
                                     help="Output file; '-' writes stdout.")],
    nms: Annotated[float, typer.Option("--nms", min=0.0, max=1.0, help="tIoU threshold of temporal NMS.")] = 0.2,
    top_k: Annotated[int, typer.Option("--top-k", help=(
        "(proposal, class) pairs kept per video from raw outputs; <= 0 keeps all."))] = 2000,
    cls_top_k: Annotated[int, typer.Option("--cls-top-k", help="Accepted and unused, as in the reference.")] = 2,
    cls_score_dict: Annotated[Path | None, typer.Option(
        "--cls-score-dict", metavar="FILE", show_default=False,
        help="Accepted and unused, as in the reference (its evaluater ignores it too).")] = None,
    no_regression: Annotated[bool, typer.Option("--no-regression", help="Skip the location regression.")] = False,
    format: Annotated[OutFormat, typer.Option("--format", help=(
        "json: per-class detections; anet: ActivityNet results (seconds); thumos: submission text."))
    ] = OutFormat.json,
    ann: Annotated[str | None, typer.Option("--ann", metavar="ANN", show_default=False, help=(
        "Video durations for anet/thumos (ActivityNet JSON, or SSN proposal list with --fps); for json, "
        "a THUMOS ground truth whose class range the detections must fit."))] = None,
    fps: Annotated[float, typer.Option("--fps", min=1e-6, help="Frame rate turning a proposal list's frames "
                                                              "into seconds.")] = 30.0,
    classes: Annotated[Path | None, typer.Option(
        "--classes", metavar="FILE", dir_okay=False, show_default="class indexes",
        help="Class names, one per line (line k names class index k), for the labels of --format anet.")] = None,
) -> None:
    """Apply SSN location regression and per-class temporal NMS, as SSNDataset.evaluate does before scoring.

    Raw outputs first go through results_to_detections (softmax over activity x exp(completeness), top-k
    pairs per video). Writes per-class detections, class index -> video -> rows (start, end, score,
    d_centre, d_log_duration) on [0, 1] time, or (--format) ActivityNet results / THUMOS'14 submission text
    in seconds.

    Examples:

        vidact detections-to-regression raw.json --out detections.json

        vidact detections-to-regression raw.npz --out - | vidact eval --metric mAP --dataset thumos14 --ann val.txt -

        vidact detections-to-regression raw.npz --format thumos --ann val_proposals.txt --fps 30 --out submit.txt

        vidact detections-to-regression raw.json --format anet --ann anet_anno_val.json --classes classes.txt --out det.json
    """
    if format is not OutFormat.json and ann is None:
        raise InputError(f"--format {format.value} needs --ann for the video durations")
    from vidact.data.annotations.ssn_detections import (
        format_anet,
        format_class_detections,
        format_thumos,
        read_durations,
        read_ssn_detections_input,
        write_text_output,
    )
    from vidact.data.annotations.lists import read_class_names
    from vidact.localization.detections import postprocess_detections

    inputs = read_ssn_detections_input(input)
    name = "<stdin>" if input == "-" else input
    if cls_score_dict is not None or cls_top_k != 2:
        err.print("note: --cls-top-k and --cls-score-dict are accepted and unused, as in the reference", style="dim")
    detections = postprocess_detections(inputs, top_k=top_k, nms=nms, use_regression=not no_regression, name=name)
    protocol = _annotation_protocol(input, ann)
    if format is OutFormat.json:
        used = [c for c, per_video in enumerate(detections) if any(len(r) for r in per_video.values())]
        if ann is not None and used:
            _check_class_range(used[-1], ann, name)
        text = format_class_detections(detections, protocol)
    else:
        durations = read_durations(ann, fps)  # type: ignore[arg-type]
        if format is OutFormat.anet:
            names = read_class_names(classes) if classes is not None else None
            text = format_anet(detections, durations, str(ann), names, protocol)
        else:
            text = format_thumos(detections, durations, str(ann))
    write_text_output(out, text)
    count = sum(len(rows) for per_video in detections for rows in per_video.values())
    err.print(f"{count} detections of {len(detections)} classes -> {out}", highlight=False, soft_wrap=True)


def _check_class_range(class_idx: int, ann: str, name: str) -> None:
    """Refuse detections of a class index beyond the ground truth's."""
    from vidact.data.annotations.ssn_detections import read_thumos_ground_truth

    gt_classes = max(read_thumos_ground_truth(ann), default=-1) + 1
    if class_idx >= gt_classes:
        raise InputError(f"{name}: class index {class_idx} out of range "
                         f"({ann} has classes 0..{gt_classes - 1})")


def _annotation_protocol(input: str, ann: Path | str | None) -> dict[str, str]:
    """The annotation file the output was made for (`--ann`, else what the input records), so
    `vidact eval` finds the ground truth without --ann; {} when neither names one."""
    from vidact.io.provenance import annotation_record, recorded_annotation

    if ann is not None and str(ann) != "-":
        return annotation_record(ann)
    if input != "-" and str(input).lower().endswith(".json"):
        try:
            return annotation_record(recorded_annotation(input))
        except InputError:
            return {}
    return {}
