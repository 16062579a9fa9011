"""`vidact eval`: recognition metrics from scores, or AR@AN / mAP from ActivityNet-style results."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from vidact.commands import _common
from vidact.commands._eval_fast import check_stdin, evaluate_localization_files, finish
from vidact.errors import InputError

if TYPE_CHECKING:  # the modules themselves load when a command runs: `vidact --help` stays light
    from vidact.data.annotations import LabelList
    from vidact.evaluation.suite import EvalResult
    from vidact.io.scores import Scores

_REC, _LOC, _OUT = "Recognition (list ANN + scores)", "Localization (JSON GT + results)", "Output"


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
    check_stdin(ann, predictions)
    from vidact.evaluation.suite import default_metrics, evaluate_recognition, resolve_metrics

    task, metrics = resolve_metrics(metric or (["mAP"] if dataset else default_metrics(ann, multi_class=multi_class)))
    if dataset is not None:
        result = _thumos14(dataset, metrics, ann, predictions)
    elif task == "recognition":
        scores, labels = _load_recognition(predictions, ann, ann_format.value, multi_class, num_classes)
        result = evaluate_recognition(scores, labels, metrics=metrics, topk=topk,
                                      normalize=normalize.value if normalize else None)
    else:  # the Typer-free path of `python -m vidact eval` (vidact/commands/_eval_fast.py) runs the same
        result = evaluate_localization_files(ann, predictions, metrics, subset, max_avg_proposals)
    if plot is not None:
        _write_plot(result, plot)
    finish(result, plot, json_out)


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
    from vidact.data.annotations import read_label_list
    from vidact.io.scores import read_scores

    if multi_class and num_classes is None:
        scores = read_scores(predictions)
        return scores, read_label_list(ann, format=ann_format, multi_class=True, num_classes=scores.num_classes)
    labels = read_label_list(ann, format=ann_format, multi_class=multi_class, num_classes=num_classes)
    return read_scores(predictions), labels


def _write_plot(result: EvalResult, path: Path) -> None:
    from vidact.io.plots import plot_ar_an, plot_confusion_matrix

    if "confusion_matrix" in result.tables:
        cm = result.tables["confusion_matrix"]
        plot_confusion_matrix(cm["matrix"], path, labels=cm["labels"])
    elif "ar_an" in result.tables:
        curve = result.tables["ar_an"]
        plot_ar_an(curve["proposals_per_video"], curve["average_recall"], path, auc=curve["auc"])
    else:
        raise InputError("--plot needs --metric confusion_matrix (recognition) or --metric AR@AN (localization)")
