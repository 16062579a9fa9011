"""What `vidact eval` computes: loaded inputs in, one `EvalResult` out (no file IO here).

Recognition takes a score matrix and a label list; localization takes ActivityNet ground truth and
a results file. Both check that the inputs fit together, call the metric functions and say in
`warnings` where a number does not mean what it looks like (short or missing videos, dropped top-k,
a protocol recorded against another annotation file, ...).
"""

from __future__ import annotations

import difflib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from vidact.data.annotations.activitynet import Alignment, GroundTruth, Results, align_results
from vidact.data.annotations.lists import LabelList
from vidact.errors import AnnotationError, InputError
from vidact.evaluation.detection import coded_detection_map
from vidact.evaluation.proposals import DEFAULT_TIOU_THRESHOLDS, FlatProposals, ar_an_flat
from vidact.evaluation.recognition import (
    confusion_matrix,
    mean_average_precision,
    labels_outside_scores,
    mean_class_accuracy,
    top_k_accuracy,
)
from vidact.io.scores import Scores

Task = Literal["recognition", "localization"]

RECOGNITION_METRICS = ("top_k_accuracy", "mean_class_accuracy", "mean_average_precision", "confusion_matrix")
LOCALIZATION_METRICS = ("AR@AN", "mAP")
DEFAULT_TOPK = (1, 5)
# Keys of a scores/results "protocol" object that hold the sha256 of the annotation file used.
_ANN_HASH_KEYS = ("ann_file_sha256", "ann_sha256")


@dataclass
class EvalResult:
    """Everything `vidact eval` reports.

    Attributes:
        task: 'recognition' or 'localization'.
        metrics: name -> value (fractions, except `auc` in percent); `confusion_matrix` is a
            nested list with its row/column classes in `confusion_matrix_labels`.
        warnings: one sentence each, for caveats the numbers alone hide.
        protocol: the protocol metadata carried by the scores or results file, or None.
        inputs: what was compared: file names, formats and counts.
        tables: arrays for plots: `confusion_matrix` {labels, matrix} or `ar_an`
            {proposals_per_video, average_recall, auc}.
    """

    task: Task
    metrics: dict[str, Any]
    warnings: list[str]
    protocol: dict[str, Any] | None
    inputs: dict[str, Any]
    tables: dict[str, Any] = field(default_factory=dict)


def resolve_metrics(names: Sequence[str]) -> tuple[Task, list[str]]:
    """Canonical metric names (case-insensitive reference spellings) and the task they belong to.

    Raises:
        InputError: an unknown name, or recognition and localization metrics mixed.
    """
    known = {m.lower(): m for m in RECOGNITION_METRICS + LOCALIZATION_METRICS}
    resolved: list[str] = []
    for name in names:
        canonical = known.get(name.strip().lower())
        if canonical is None:
            close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
            guess = f"; did you mean {known[close[0]]!r}?" if close else ""
            raise InputError(f"unknown metric {name!r}{guess}", hint=f"metrics: {', '.join(known.values())}")
        if canonical not in resolved:
            resolved.append(canonical)
    localization = [m for m in resolved if m in LOCALIZATION_METRICS]
    recognition = [m for m in resolved if m in RECOGNITION_METRICS]
    if localization and recognition:
        raise InputError(
            f"cannot mix recognition ({', '.join(recognition)}) and localization ({', '.join(localization)}) "
            "metrics: run vidact eval once for each",
            hint="they read different inputs: a list file and scores vs JSON ground truth and results",
        )
    return ("localization" if localization else "recognition"), resolved


def default_metrics(ann: str, *, multi_class: bool = False) -> list[str]:
    """The reference datasets' default metric for an annotation file: AR@AN for JSON ground
    truth (`ActivityNetDataset`), else top_k_accuracy, or mean_average_precision when multi-label."""
    if str(ann).lower().endswith(".json"):
        return ["AR@AN"]
    return ["mean_average_precision"] if multi_class else ["top_k_accuracy"]


# ---- recognition ---------------------------------------------------------------------------------


def evaluate_recognition(
    scores: Scores,
    ann: LabelList,
    *,
    metrics: Sequence[str] = ("top_k_accuracy",),
    topk: Sequence[int] | None = None,
    normalize: str | None = None,
) -> EvalResult:
    """Recognition metrics of `scores` (N, C) against the N labels of `ann`, in line order.

    Args:
        metrics: canonical names from `RECOGNITION_METRICS`.
        topk: k values for top_k_accuracy; None uses (1, 5), dropping any k > C with a warning. A k > C
            given explicitly scores 1.0 (every sample a hit, as the reference counts it), with a warning.
        normalize: confusion-matrix normalisation: None, 'true', 'pred' or 'all'.

    Raises:
        InputError / AnnotationError: row count, class count or metric/label-kind mismatches.
    """
    warnings: list[str] = []
    _check_recognition_inputs(scores, ann, metrics)
    n, num_classes = scores.scores.shape
    if not ann.multi_class:
        _warn_labels_outside_scores(scores, ann, warnings)
    result: dict[str, Any] = {}
    tables: dict[str, Any] = {}
    if "top_k_accuracy" in metrics:
        ks = _resolve_topk(topk, num_classes, scores.name, warnings)
        for k, acc in zip(ks, top_k_accuracy(scores.scores, ann.labels, topk=ks)):
            result[f"top{k}_acc"] = float(acc)
    if "mean_class_accuracy" in metrics:
        result["mean_class_accuracy"] = float(mean_class_accuracy(scores.scores, ann.labels))
        _warn_predicted_only_classes(scores, ann, warnings)
    if "mean_average_precision" in metrics:
        result["mean_average_precision"] = float(mean_average_precision(scores.scores, ann.labels))
        no_positives = int(np.sum(ann.labels.sum(axis=0) == 0))
        if no_positives:
            warnings.append(
                f"no positive sample for {no_positives} of {num_classes} classes in {ann.name}: "
                "mean_average_precision averages over the other classes only (as MMAction)"
            )
    if "confusion_matrix" in metrics:
        y_pred = np.argmax(scores.scores, axis=1)  # ties go to the lowest class index
        labels = np.unique(np.concatenate([y_pred, ann.labels]))
        matrix = np.asarray(confusion_matrix(y_pred, ann.labels, normalize=normalize))
        result["confusion_matrix"] = matrix.tolist()
        result["confusion_matrix_labels"] = labels.tolist()
        tables["confusion_matrix"] = {"labels": labels.tolist(), "matrix": matrix, "normalize": normalize}
    if not ann.multi_class:
        _warn_ties(scores, warnings)
    _check_protocol_hash(scores.protocol, ann.sha256, ann.name, warnings)
    inputs = {
        "task": "recognition",
        "scores": scores.name,
        "ann": ann.name,
        "ann_format": ann.format + ("_with_offset" if ann.with_offset else ""),
        "multi_class": ann.multi_class,
        "num_samples": n,
        "num_classes": num_classes,
    }
    return EvalResult("recognition", result, warnings, scores.protocol, inputs, tables)


def _check_recognition_inputs(scores: Scores, ann: LabelList, metrics: Sequence[str]) -> None:
    if len(scores) != len(ann):
        raise InputError(
            f"{scores.name} has {len(scores)} score rows but {ann.name} has {len(ann)} samples; "
            "they must match line for line"
        )
    num_classes = scores.num_classes
    if ann.multi_class:
        single = [m for m in metrics if m != "mean_average_precision"]
        if single:
            raise InputError(f"{', '.join(single)} needs single-label annotations; multi-label lists support "
                             "mean_average_precision")
        if ann.labels.shape[1] != num_classes:
            raise InputError(
                f"{ann.name} was read with {ann.labels.shape[1]} classes but {scores.name} has {num_classes} columns"
            )
        return
    if "mean_average_precision" in metrics:
        raise InputError("mean_average_precision needs multi-label annotations (vidact eval --multi-class)")


def _warn_labels_outside_scores(scores: Scores, ann: LabelList, warnings: list[str], show: int = 5) -> None:
    """MMAction counts a label that is not a score column as a miss; say so, with the first samples."""
    outside = labels_outside_scores(ann.labels, scores.num_classes)
    if outside.size:
        first = outside[:show]
        more = ", ..." if outside.size > show else ""
        warnings.append(
            f"{_n(outside.size, 'label')} of {ann.name} outside the {scores.num_classes} score columns of "
            f"{scores.name} (samples {', '.join(map(str, first.tolist()))}{more}; lines "
            f"{', '.join(str(ann.line_numbers[i]) for i in first)}{more}): counted as misses, as MMAction"
        )


def _resolve_topk(
    topk: Sequence[int] | None, num_classes: int, scores_name: str, warnings: list[str]
) -> tuple[int, ...]:
    if topk is None:
        ks = tuple(k for k in DEFAULT_TOPK if k <= num_classes)
        if len(ks) < len(DEFAULT_TOPK):
            dropped = ", ".join(f"top{k}_acc" for k in DEFAULT_TOPK if k > num_classes)
            warnings.append(f"{dropped} skipped: {scores_name} has only {num_classes} classes")
        return ks
    ks = tuple(dict.fromkeys(int(k) for k in topk))
    for k in ks:
        if k < 1:
            raise InputError(f"--topk {k} is out of range: k must be at least 1")
    # k > the number of classes counts every sample as a hit, as MMAction's top_k_accuracy does.
    trivial = [k for k in ks if k > num_classes]
    if trivial:
        names = ", ".join(f"top{k}_acc" for k in trivial)
        warnings.append(f"{names}: {scores_name} has only {num_classes} classes, so every sample counts as a hit")
    return ks


def _warn_predicted_only_classes(scores: Scores, ann: LabelList, warnings: list[str]) -> None:
    predicted = np.unique(np.argmax(scores.scores, axis=1))
    absent = np.setdiff1d(predicted, ann.labels)
    if absent.size:
        classes = np.union1d(predicted, ann.labels).size
        warnings.append(
            f"mean_class_accuracy averages over the {classes} classes that are true or predicted, "
            f"including {_n(absent.size, 'class')} predicted but absent from {ann.name} "
            f"(e.g. {int(absent[0])}), scored 0 as in MMAction"
        )


def _warn_ties(scores: Scores, warnings: list[str]) -> None:
    top = scores.scores.max(axis=1, keepdims=True)
    tied = int(np.sum((scores.scores == top).sum(axis=1) > 1))
    if tied:
        warnings.append(
            f"tied top scores in {tied} of {len(scores)} samples of {scores.name}: "
            "ties are ranked by class index (highest first, as MMAction)"
        )


def _check_protocol_hash(protocol: dict | None, sha256: str, ann_name: str, warnings: list[str]) -> None:
    if not protocol or not sha256:
        return
    for key in _ANN_HASH_KEYS:
        recorded = protocol.get(key)
        if isinstance(recorded, str) and recorded.removeprefix("sha256:").lower() != sha256:
            warnings.append(
                f"the protocol's {key} ({recorded[:12]}...) differs from the sha256 of {ann_name} "
                f"({sha256[:12]}...): the predictions were made for another annotation file"
            )
            return


# ---- localization --------------------------------------------------------------------------------


def evaluate_localization(
    gt: GroundTruth,
    results: Results,
    *,
    metrics: Sequence[str] = ("AR@AN",),
    max_avg_proposals: int = 100,
    temporal_iou_thresholds: np.ndarray = DEFAULT_TIOU_THRESHOLDS,
    workers: int = 1,
) -> EvalResult:
    """Proposal recall (AR@AN) and/or detection mAP of `results` against `gt`.

    `workers` > 1 lets the detection metric use a forked child (see `coded_detection_map`).

    Ground-truth videos without results count as zero recall; results for videos outside `gt` are
    passed to the metrics, which follow the ActivityNet kit (the warnings say what that means).

    Raises:
        AnnotationError: a result without a label or with a label not in `gt` (for mAP), or two
            results entries naming the same video.
    """
    want_map = "mAP" in metrics
    if want_map:
        _require_labels(results)
    # The label check per video costs a set lookup per entry; the columns hold each label once.
    aligned = align_results(gt, results, check_labels=want_map and not _labels_known(gt, results))
    warnings: list[str] = []
    if aligned.missing:
        warnings.append(
            f"no results for {len(aligned.missing)} of {len(gt.videos)} ground-truth videos in {results.name} "
            f"(e.g. {aligned.missing[0]!r}): their segments count as missed (zero recall), as in the "
            "ActivityNet kit"
        )
    result: dict[str, Any] = {}
    tables: dict[str, Any] = {}
    if "AR@AN" in metrics:
        result, tables["ar_an"] = _ar_an(gt, results, aligned, max_avg_proposals, temporal_iou_thresholds,
                                         warnings)
    if want_map:
        result |= _detection_map(gt, results, aligned, temporal_iou_thresholds, warnings, workers)
    if aligned.extra:
        effect = ["ignored for recall but counted in the total number of proposals"] if "AR@AN" in metrics else []
        effect += ["false positives for mAP"] if want_map else []
        scope = f" (subset {gt.subset!r})" if gt.subset else ""
        warnings.append(
            f"results for {_n(len(aligned.extra), 'video')} not in the ground truth{scope} in {results.name} "
            f"(e.g. {aligned.extra[0]!r}): {' and '.join(effect)}, as in the ActivityNet kit"
        )
    inputs = {
        "task": "localization",
        "ground_truth": gt.name,
        "gt_format": gt.format,
        "subset": gt.subset,
        "num_gt_videos": len(gt.videos),
        "num_gt_segments": gt.num_segments,
        "results": results.name,
        "num_result_videos": len(results.videos),
        "num_result_segments": results.num_segments,
        "max_avg_proposals": max_avg_proposals,
        "temporal_iou_thresholds": [round(float(t), 4) for t in temporal_iou_thresholds],
    }
    return EvalResult("localization", result, warnings, results.protocol, inputs, tables)


def _labels_known(gt: GroundTruth, results: Results) -> bool:
    """True when the results' columns show every label to be a ground-truth class (False: check per video)."""
    if results.columns is None:
        return False
    known = set(gt.class_names)
    used = np.flatnonzero(np.bincount(results.columns.label_codes + 1))  # code + 1: -1 (no label) is 0
    return all(results.columns.label_names[code - 1] in known for code in used.tolist() if code > 0)


def _result_columns(results: Results, aligned: Alignment) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(segments (N, 2), scores (N,), counts per aligned video) from the reader's columns, or None.

    The aligned videos are the results' videos re-keyed in the same order, so the columns line up.
    """
    columns = results.columns
    if columns is None or len(aligned.videos) != len(results.videos):
        return None
    return columns.segments, columns.scores, columns.counts


def _ar_an(
    gt: GroundTruth, results: Results, aligned: Alignment, max_avg_proposals: int, thresholds: np.ndarray,
    warnings: list[str],
) -> tuple[dict[str, float], dict[str, Any]]:
    # Columns straight from the reader (or the per-video arrays): the dicts `ar_an` takes cost a stack per video.
    index = {vid: i for i, vid in enumerate(gt.videos)}  # every ground-truth video has a segment
    columns = _result_columns(results, aligned)
    if columns is not None:
        segments, scores, counts = columns
        row_video = np.repeat(np.array([index.get(vid, -1) for vid in aligned.videos], dtype=np.int64), counts)
        ours = np.flatnonzero(row_video >= 0)
        segment, score, video = segments[ours], scores[ours], row_video[ours]
    else:
        kept = [(index[vid], segs) for vid, segs in aligned.videos.items() if vid in index and len(segs)]
        segment = np.concatenate([segs.segments for _, segs in kept] or [np.empty((0, 2))]).reshape(-1, 2)
        score = np.concatenate([segs.scores for _, segs in kept] or [np.empty(0)])
        video = np.repeat(np.array([i for i, _ in kept], dtype=np.int64), [len(segs) for _, segs in kept])
    flat = FlatProposals(
        gt_segment=np.concatenate([segs.segments for segs in gt.videos.values()]).reshape(-1, 2),
        gt_video=np.repeat(np.arange(len(index)), [len(segs) for segs in gt.videos.values()]),
        segment=segment,
        score=score,
        video=video,
        num_videos=len(index),
        num_proposals_all=results.num_segments,  # the aligned videos are the results' videos
    )
    results_name = results.name
    arn = ar_an_flat(flat, max_avg_proposals=max_avg_proposals, temporal_iou_thresholds=thresholds)
    if arn.num_videos_short:
        warnings.append(
            f"fewer than {max_avg_proposals} proposals for {arn.num_videos_short} of {len(gt.videos)} "
            f"ground-truth videos in {results_name} ({arn.num_videos_missing} with none): AR@100, "
            f"the last curve point, is not 'at {max_avg_proposals} proposals' for them"
        )
    if max_avg_proposals != 100:
        warnings.append(
            f"with max_avg_proposals={max_avg_proposals} the AR@k keys read curve point k of 100, as "
            f"MMAction does: AR@100 is the recall at AN={max_avg_proposals}, AR@1 at "
            f"AN={max_avg_proposals / 100:g}"
        )
    curve = {"proposals_per_video": arn.proposals_per_video, "average_recall": arn.average_recall, "auc": arn.auc}
    return {k: float(v) for k, v in arn.metrics.items()}, curve


def _detection_map(
    gt: GroundTruth, results: Results, aligned: Alignment, thresholds: np.ndarray, warnings: list[str],
    workers: int = 1,
) -> dict[str, float]:
    # Videos and labels are coded to integers here, from the reader's columns (or the per-video
    # dicts): building string columns for `detection_map` and searching them took most of the time
    # at ActivityNet scale.
    class_index = {label: i for i, label in enumerate(gt.class_names)}
    video_index = {video: i for i, video in enumerate(gt.videos)}
    gt_segs = list(gt.videos.values())
    columns = _result_columns(results, aligned)
    if columns is not None:
        pred_segment, pred_score, pred_counts = columns
        names = results.columns.label_names
        class_of_code = np.array([class_index.get(name, -1) for name in names] + [-1], dtype=np.int64)
        pred_class = class_of_code[results.columns.label_codes]  # code -1 (no label) reads the last slot
    else:
        pred_segs = list(aligned.videos.values())
        pred_counts = [len(segs) for segs in pred_segs]
        labels = itertools.chain.from_iterable([segs.labels for segs in pred_segs])
        pred_class = np.fromiter(map(class_index.get, labels, itertools.repeat(-1)), np.int64, sum(pred_counts))
        pred_segment = np.concatenate([segs.segments for segs in pred_segs] or [np.empty((0, 2))]).reshape(-1, 2)
        pred_score = np.concatenate([segs.scores for segs in pred_segs] or [np.empty(0)])
    det = coded_detection_map(
        np.concatenate([segs.segments for segs in gt_segs]).reshape(-1, 2),
        np.repeat(np.arange(len(gt_segs)), [len(segs) for segs in gt_segs]),
        np.fromiter((class_index[label] for segs in gt_segs for label in segs.labels), np.int64, gt.num_segments),
        pred_segment,
        pred_score,
        np.repeat(np.array([video_index.get(video, -1) for video in aligned.videos], dtype=np.int64), pred_counts),
        pred_class,
        gt.class_names,
        temporal_iou_thresholds=thresholds,
        workers=workers,
    )
    predicted = np.bincount(pred_class[pred_class >= 0], minlength=len(gt.class_names)) > 0
    unpredicted = [c for c, seen in zip(gt.class_names, predicted) if not seen]
    if unpredicted:
        warnings.append(
            f"no predictions for {len(unpredicted)} of {len(gt.class_names)} ground-truth classes "
            f"(e.g. {unpredicted[0]!r}): their AP is 0, as in the ActivityNet kit"
        )
    return {k: float(v) for k, v in det.metrics.items()}


def _require_labels(results: Results) -> None:
    if results.has_labels:
        return
    for vid, segs in results.videos.items():
        for j, label in enumerate(segs.labels):
            if label is None:
                raise AnnotationError(
                    f"{results.name}: results[{json.dumps(vid)}][{j}]: missing \"label\" "
                    "(mAP needs a class per segment)"
                )


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}es" if noun.endswith("s") else f"{count} {noun}s"
