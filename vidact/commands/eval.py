"""`vidact eval`: recognition metrics from scores, or AR@AN / mAP from ActivityNet-style results."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vidact.commands import _common
from vidact.data.annotations import LabelList, read_ground_truth, read_label_list, read_results
from vidact.errors import InputError
from vidact.evaluation.suite import (
    EvalResult,
    default_metrics,
    evaluate_localization,
    evaluate_recognition,
    resolve_metrics,
)
from vidact.io.plots import plot_ar_an, plot_confusion_matrix
from vidact.io.scores import Scores, read_scores

_REC, _LOC, _OUT = "Recognition (list ANN + scores)", "Localization (JSON GT + results)", "Output"
_MAX_TABLE_CLASSES = 30  # wider confusion matrices go to --json / --plot only


class AnnFormat(str, Enum):
    auto, video, rawframe = "auto", "video", "rawframe"


class Normalize(str, Enum):
    true, pred, all = "true", "pred", "all"


def _metric_names(incomplete: str) -> list[str]:
    """--metric completions: every metric name vidact eval knows."""
    from vidact.evaluation.suite import LOCALIZATION_METRICS, RECOGNITION_METRICS

    return [m for m in RECOGNITION_METRICS + LOCALIZATION_METRICS if m.lower().startswith(incomplete.lower())]


def eval_command(
    predictions: Annotated[str, typer.Argument(metavar="SCORES|RESULTS", show_default=False, help=(
        "Recognition: scores, .npy (N x C) or JSON. Localization: results JSON. '-' reads stdin."))],
    ann: Annotated[str | None, typer.Option("--ann", metavar="FILE", show_default=False, help=(
        "Annotations: a video/rawframe list (recognition) or ActivityNet ground-truth JSON. "
        "Default: the file the results record (vidact test writes it)."))] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", "-m", metavar="NAME", show_default=False,
                                                     autocompletion=_metric_names, help=(
        "top_k_accuracy, mean_class_accuracy, mean_average_precision, confusion_matrix, AR@AN or mAP. "
        "Repeatable. Default: top_k_accuracy for lists, AR@AN for JSON."))] = None,
    topk: Annotated[list[int] | None, typer.Option(
        "--topk", metavar="K", rich_help_panel=_REC, show_default="1 5",
        help="k for top_k_accuracy. Repeatable.")] = None,
    ann_format: Annotated[AnnFormat, typer.Option(
        "--ann-format", rich_help_panel=_REC, help="List kind; auto reads it from the line shape.")] = AnnFormat.auto,
    multi_class: Annotated[bool, typer.Option(
        "--multi-class", rich_help_panel=_REC,
        help="Lines end with several labels (for mean_average_precision).")] = False,
    num_classes: Annotated[int | None, typer.Option(
        "--num-classes", min=1, metavar="C", rich_help_panel=_REC, show_default="the scores' columns",
        help="Classes of a multi-label list.")] = None,
    normalize: Annotated[Normalize | None, typer.Option(
        "--normalize", rich_help_panel=_REC, show_default=False,
        help="Normalise the confusion matrix over true rows, predicted columns or all.")] = None,
    subset: Annotated[str, typer.Option(
        "--subset", metavar="NAME", rich_help_panel=_LOC, help="Ground-truth subset (official layout only).")
    ] = "validation",
    max_avg_proposals: Annotated[int, typer.Option(
        "--max-avg-proposals", min=1, metavar="AN", rich_help_panel=_LOC, help="AN of the last AR@AN point.")] = 100,
    plot: Annotated[Path | None, typer.Option(
        "--plot", metavar="PNG", rich_help_panel=_OUT, show_default=False,
        help="Write the confusion matrix or the AR@AN curve as a PNG (needs matplotlib).")] = None,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", metavar="NAME", rich_help_panel=_LOC, show_default=False,
        help="thumos14: SSN's THUMOS'14 mAP of per-class detections (--ann: proposal list or per-class JSON).")
    ] = None,
    json_out: _common.JsonOpt = False,
) -> None:
    """Evaluate predictions: top-k / mean-class accuracy, mAP, confusion matrix, AR@AN, detection mAP.

    A table goes to stderr; --json prints {"metrics", "warnings", "protocol", "inputs"} on stdout.

    Examples:

        vidact eval --ann val_list.txt --topk 1 --topk 5 scores.npy

        vidact eval --metric AR@AN --ann activity_net.v1-3.min.json --plot arn.png proposals.json

        vidact eval --metric mAP --ann gt.json --json detections.json

        vidact eval scores.json     # the annotation file recorded by vidact test
        vidact eval --metric mAP --dataset thumos14 --ann proposals_val.txt detections.json
    """
    if ann is None:
        from vidact.io.provenance import recorded_annotation

        ann = str(recorded_annotation(predictions))
        _common.err.print(f"ground truth: {escape(ann)} (recorded in {escape(predictions)})", highlight=False,
                          soft_wrap=True)
    if ann == "-" and predictions == "-":
        raise InputError("only one of --ann and SCORES|RESULTS can be '-' (stdin)")
    task, metrics = resolve_metrics(metric or (["mAP"] if dataset else default_metrics(ann, multi_class=multi_class)))
    if dataset is not None:
        result = _thumos14(dataset, metrics, ann, predictions)
    elif task == "recognition":
        scores, labels = _load_recognition(predictions, ann, ann_format.value, multi_class, num_classes)
        result = evaluate_recognition(scores, labels, metrics=metrics, topk=topk,
                                      normalize=normalize.value if normalize else None)
    else:
        gt = read_ground_truth(ann, subset=subset)
        results = read_results(predictions, known_labels=gt.class_names)
        result = evaluate_localization(gt, results, metrics=metrics, max_avg_proposals=max_avg_proposals)
        if subset != "validation" and gt.subset is None:
            result.warnings.insert(0, f"--subset {subset} ignored: {gt.name} is a per-video file without subsets")
    if plot is not None:
        _write_plot(result, plot)
    _render(result, plot)
    if json_out:
        extra = {"per_class_ap": result.tables["ap"]} if "ap" in result.tables else {}
        _common.print_json({k: getattr(result, k) for k in ("metrics", "warnings", "protocol", "inputs")} | extra)


def _thumos14(dataset: str, metrics: list[str], ann: str, predictions: str) -> EvalResult:
    """SSN's THUMOS'14 mAP: --ann is a proposal list or per-class JSON, predictions per-class detections."""
    from vidact.data.annotations.ssn_detections import read_class_detections, read_thumos_ground_truth
    from vidact.evaluation.thumos14 import evaluate_thumos14

    if dataset != "thumos14" or metrics != ["mAP"]:
        raise InputError(f"--dataset {dataset} --metric {' '.join(metrics)}: only --dataset thumos14 with "
                         "--metric mAP is supported")
    gt = read_thumos_ground_truth(ann)
    detections = read_class_detections(predictions, num_classes=max(gt, default=-1) + 1)
    return evaluate_thumos14(gt, detections, gt_name=_name(ann), detections_name=_name(predictions))


def _name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _load_recognition(predictions: str, ann: str, ann_format: str, multi_class: bool,
                      num_classes: int | None) -> tuple[Scores, LabelList]:
    """Read the list first (its errors say most about a wrong command), unless a multi-label list
    takes its class count from the scores' columns."""
    if multi_class and num_classes is None:
        scores = read_scores(predictions)
        return scores, read_label_list(ann, format=ann_format, multi_class=True, num_classes=scores.num_classes)
    labels = read_label_list(ann, format=ann_format, multi_class=multi_class, num_classes=num_classes)
    return read_scores(predictions), labels


def _write_plot(result: EvalResult, path: Path) -> None:
    if "confusion_matrix" in result.tables:
        cm = result.tables["confusion_matrix"]
        plot_confusion_matrix(cm["matrix"], path, labels=cm["labels"])
    elif "ar_an" in result.tables:
        curve = result.tables["ar_an"]
        plot_ar_an(curve["proposals_per_video"], curve["average_recall"], path, auc=curve["auc"])
    else:
        raise InputError("--plot needs --metric confusion_matrix (recognition) or --metric AR@AN (localization)")


def _render(result: EvalResult, plot: Path | None) -> None:
    err, inputs = _common.err, result.inputs
    if result.task == "recognition":
        summary = (f"{inputs['ann']} ({inputs['ann_format']} list) vs {inputs['scores']}: "
                   f"{inputs['num_samples']} samples, {inputs['num_classes']} classes")
    else:
        summary = (f"{inputs['ground_truth']} ({inputs['subset'] or inputs['gt_format']}) vs {inputs['results']}: "
                   f"{inputs['num_gt_videos']} videos, {inputs['num_result_segments']} predicted segments")
    err.print(escape(summary), soft_wrap=True, highlight=False)
    table = _table(f"vidact eval: {result.task}", "metric", "value")
    for name, value in result.metrics.items():
        if not name.startswith("confusion_matrix"):
            table.add_row(name, "null" if value is None else f"{value:.2f} %" if name == "auc" else f"{value:.4f}")
    if table.row_count:
        err.print(table)
    if result.protocol:
        proto = _table("protocol (from the predictions file)", "key", "value", justify="left")
        for key, value in result.protocol.items():
            proto.add_row(escape(str(key)), escape(str(value)))
        err.print(proto)
    if "confusion_matrix" in result.tables:
        _render_confusion(result.tables["confusion_matrix"])
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True, highlight=False)
    if plot is not None:
        err.print(f"plot written to {escape(str(plot))}", soft_wrap=True, highlight=False)


def _render_confusion(cm: dict) -> None:
    labels, matrix = cm["labels"], cm["matrix"]
    if len(labels) > _MAX_TABLE_CLASSES:
        _common.err.print(f"confusion matrix: {len(labels)} classes, too many to show; see --json or --plot")
        return
    table = _table("confusion matrix (rows: true class, columns: predicted)", "true \\ pred", *map(str, labels))
    integral = cm["normalize"] is None
    for label, row in zip(labels, matrix):
        table.add_row(str(label), *(f"{v:.0f}" if integral else f"{v:.3f}" for v in row))
    _common.err.print(table)


def _table(title: str, *columns: str, justify: str = "right") -> Table:
    table = Table(title=title, min_width=len(title) + 4)
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i == 0 else justify)
    return table
