"""SSN post-processing: location regression, per-class AP at several tIoUs, proposal-list loading.

`eval_ap` matches detections to ground truth greedily in score order, one rank at a time across
all videos and thresholds; `load_localize_proposal_file` reads the SSN/THUMOS proposal list.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from vidact.errors import AnnotationError
from vidact.io.files import read_text
from vidact.localization.iou import FloatArray, check_rows
from vidact.segments import segment_iou

ProposalFileEntry = tuple[str, int, list[list[str]], list[list[str]]]


def perform_regression(detections: npt.ArrayLike) -> FloatArray:
    """Apply SSN's centre/duration regression to detections on normalised [0, 1] time.

    `centre += duration * d_centre`, `duration *= exp(d_log_duration)`; the new start and end
    are clipped to [0, 1]. Columns from 2 on (score and the two offsets) are copied unchanged.

    Args:
        detections: (N, C) with C >= 5: [start, end, score, d_centre, d_log_duration, ...].

    Returns:
        (N, C) float64: [new_start, new_end, score, d_centre, d_log_duration, ...].

    Raises:
        ValueError: for a malformed, non-finite or reversed detection array.
    """
    rows = check_rows(detections, "perform_regression: detections", min_columns=5)
    starts, ends = rows[:, 0], rows[:, 1]
    centers = (starts + ends) / 2
    durations = ends - starts
    new_centers = centers + durations * rows[:, 3]
    new_durations = durations * np.exp(rows[:, 4])
    out = rows.copy()
    out[:, 0] = np.clip(new_centers - new_durations / 2, 0, 1)
    out[:, 1] = np.clip(new_centers + new_durations / 2, 0, 1)
    return out


def eval_ap(
    detections: Mapping[int, Sequence[Sequence[Any]]] | Sequence[Sequence[Sequence[Any]]],
    gt_by_cls: Mapping[int, Mapping[Any, Sequence[Sequence[float]]]]
    | Sequence[Mapping[Any, Sequence[Sequence[float]]]],
    iou_range: npt.ArrayLike,
) -> FloatArray:
    """Average precision of each class at each tIoU threshold (SSN's THUMOS'14 mAP).

    A detection is a true positive at threshold t when, taken in descending score order, it has
    tIoU >= t with a ground truth of its video that no higher-scored detection took; it takes the
    free ground truth of highest tIoU. AP is the area under the interpolated (VOC 2011)
    precision-recall curve.

    Matches the reference, including its numerics and odd corners:

    - tIoU is rounded to float32 before the `>= t` test (t stays float64), and precision and
      recall are float32; AP is float32-rounded, then stored as float64.
    - A class with detections but no ground truth has AP NaN (recall 0 / 0); with no
      detections, AP is 0.
    - Two zero-length segments have tIoU NaN, which the reference never rejects: a zero-length
      detection matches a free zero-length ground truth of its video, wherever it is.
    - Ties (equal scores, or equal tIoU with two ground truths) go to the later entry, as the
      reference's reversed sort gives when NumPy sorts stably.
    - Video ids are compared as given (the reference turns them into strings first). A class
      missing from `gt_by_cls`, or a video listed with no segments, has no ground truth (the
      reference raises).

    Args:
        detections: per class index 0..C-1, a list of rows
            [video_id, class_idx, t_start, t_end, score]; the class column is not read.
        gt_by_cls: per class index, a mapping video_id -> (G, 2) ground-truth [t_start, t_end]
            (extra columns ignored).
        iou_range: (T,) tIoU thresholds.

    Returns:
        (C, T) float64 AP values; `.mean(axis=0)` gives mAP per threshold.

    Raises:
        ValueError: for a missing class in `detections` or malformed rows or segments.
    """
    thresholds = np.asarray(iou_range, dtype=np.float64)
    if thresholds.ndim != 1 or not np.isfinite(thresholds).all():
        raise ValueError(
            f"eval_ap: iou_range must be a 1-D list of finite numbers, got {iou_range!r}"
        )
    ap_values = np.zeros((len(detections), thresholds.size))
    for class_idx in range(len(detections)):
        predictions = _class_entry(detections, class_idx)
        if predictions is None:
            raise ValueError(
                f"eval_ap: detections has {len(detections)} classes but no entry {class_idx}"
            )
        ground_truth = _class_entry(gt_by_cls, class_idx) or {}
        ap_values[class_idx] = _class_ap(
            predictions, ground_truth, thresholds, f"class {class_idx}"
        )
    return ap_values


def load_localize_proposal_file(filename: str | os.PathLike) -> list[ProposalFileEntry]:
    """Read an SSN proposal list: one block per video, each introduced by a `#` line.

    Block layout (one item per line)::

        # 0
        video_validation_0000202      video id
        5666                          num_frames
        1                             fps
        3                             number of ground truths, then one line each:
        8 130 185                       label start end
        ...
        5                             number of proposals, then one line each:
        8 0.0620 0.0620 790 5671        label best_iou overlap_self start end
        ...

    As in the reference, the returned frame count is `int(num_frames * fps)` (THUMOS lists
    write 1 for fps), and box lines are returned as lists of strings. Unlike the reference,
    blank lines are skipped and every line is checked.

    Returns:
        One (video_id, num_frames, gt_boxes, proposal_boxes) tuple per block, in file order.

    Raises:
        InputError: if the file is missing or not UTF-8 text.
        AnnotationError: naming `file:line` for a missing or non-numeric count, a box line
            with the wrong number of fields or a non-numeric field, or lines left over after the
            proposals.
    """
    text = read_text(filename)
    return [_parse_block(str(filename), block) for block in _blocks(text)]


def _class_entry(container: Any, class_idx: int) -> Any:
    """`container[class_idx]` for a mapping or a sequence; None when absent."""
    if isinstance(container, Mapping):
        return container.get(class_idx)
    return container[class_idx] if class_idx < len(container) else None


def _class_ap(
    predictions: Sequence[Sequence[Any]],
    ground_truth: Mapping[Any, Sequence[Sequence[float]]],
    thresholds: FloatArray,
    where: str,
) -> FloatArray:
    """AP at each threshold for one class -> (T,) float64 (float32-rounded values)."""
    if len(predictions) == 0:
        return np.zeros(thresholds.size)
    videos, segments, scores = _parse_predictions(predictions, where)
    gt_videos = list(ground_truth)
    gt_segments = [_parse_ground_truth(ground_truth[v], f"{where}, video {v!r}") for v in gt_videos]
    video_code = {video: code for code, video in enumerate(gt_videos)}

    order = np.argsort(scores, kind="stable")[::-1]
    pred_video = np.array([video_code.get(v, -1) for v in videos], dtype=np.intp)[order]
    iou = _iou_with_own_video(segments[order], pred_video, gt_segments)
    tp = _greedy_match(iou, pred_video, len(gt_videos), thresholds)
    return _interpolated_ap(tp, sum(len(g) for g in gt_segments))


def _parse_predictions(
    predictions: Sequence[Sequence[Any]], where: str
) -> tuple[list[Any], FloatArray, FloatArray]:
    """Rows [video_id, class_idx, start, end, score] -> video ids, (N, 2) segments, (N,) scores."""
    name = f"eval_ap: detections of {where}"
    try:
        videos = [row[0] for row in predictions]
        values = np.array([row[2:5] for row in predictions], dtype=np.float64)
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise ValueError(
            f"{name}: expected rows of [video_id, class_idx, t_start, t_end, score] ({exc})"
        ) from None
    if values.shape != (len(videos), 3):
        raise ValueError(f"{name}: expected rows of [video_id, class_idx, t_start, t_end, score]")
    values = check_rows(values, name, min_columns=3)
    return videos, values[:, :2], values[:, 2]


def _parse_ground_truth(segments: Sequence[Sequence[float]], where: str) -> FloatArray:
    """One video's ground truth -> (G, 2) float64, validated."""
    return check_rows(segments, f"eval_ap: ground truth of {where}", min_columns=2)[:, :2]


def _iou_with_own_video(
    segments: FloatArray, pred_video: npt.NDArray[np.intp], gt_segments: list[FloatArray]
) -> FloatArray:
    """tIoU of each detection with each ground truth of its own video -> (N, G_max).

    Entries are float32-rounded, NaN (two zero-length segments) becomes +inf so it passes every
    threshold and is tried first, as the reference's NaN does, and padding is -inf.
    """
    width = max((len(g) for g in gt_segments), default=0)
    iou = np.full((segments.shape[0], width), -np.inf)
    by_video = np.argsort(pred_video, kind="stable")
    bounds = np.searchsorted(pred_video[by_video], np.arange(len(gt_segments) + 1))
    for code, gts in enumerate(gt_segments):
        rows = by_video[bounds[code] : bounds[code + 1]]
        if rows.size and len(gts):
            iou[rows, : len(gts)] = segment_iou(segments[rows], gts).astype(np.float32)
    iou[np.isnan(iou)] = np.inf
    return iou


def _greedy_match(
    iou: FloatArray, pred_video: npt.NDArray[np.intp], num_videos: int, thresholds: FloatArray
) -> npt.NDArray[np.bool_]:
    """True positives (T, N) of score-sorted detections with tIoU rows iou: (N, G).

    Greedy matching is sequential within a video, but videos are independent: step r handles
    the r-th candidate detection of every video at once, for all thresholds.
    """
    num_preds, width = iou.shape
    tp = np.zeros((thresholds.size, num_preds), dtype=bool)
    if width == 0 or thresholds.size == 0:
        return tp
    candidates = np.flatnonzero(iou.max(axis=1) >= thresholds.min())  # the rest miss everywhere
    taken = np.zeros((num_videos, thresholds.size, width), dtype=bool)
    for step in _rank_groups(pred_video[candidates]):
        rows = candidates[step]
        vids = pred_video[rows]
        row_iou = iou[rows][:, None, :]  # (k, 1, G)
        free = (row_iou >= thresholds[None, :, None]) & ~taken[vids]  # (k, T, G)
        hit = free.any(axis=2)
        # Highest tIoU among free ground truths; ties to the later one (argmax on reversed axis).
        best = width - 1 - np.where(free, row_iou, -np.inf)[:, :, ::-1].argmax(axis=2)
        k, t = np.nonzero(hit)
        taken[vids[k], t, best[k, t]] = True
        tp[:, rows] = hit.T
    return tp


def _rank_groups(codes: npt.NDArray[np.intp]) -> Iterator[npt.NDArray[np.intp]]:
    """Yield, for r = 0, 1, ..., the positions of the r-th occurrence of each code in `codes`."""
    if codes.size == 0:
        return
    by_code = np.argsort(codes, kind="stable")
    sorted_codes = codes[by_code]
    rank = np.empty(codes.size, dtype=np.intp)
    rank[by_code] = np.arange(codes.size) - np.searchsorted(sorted_codes, sorted_codes)
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(rank.max() + 2))
    for r in range(rank.max() + 1):
        yield by_rank[bounds[r] : bounds[r + 1]]


def _interpolated_ap(tp: npt.NDArray[np.bool_], num_gts: int) -> FloatArray:
    """VOC-2011 interpolated AP per threshold from score-ordered true positives tp: (T, N)."""
    tp_count = np.cumsum(tp, axis=1).astype(np.float32)
    fp_count = np.cumsum(~tp, axis=1).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp_count / np.float32(num_gts)  # 0 / 0 = NaN with no ground truth, as in MMAction
    precision = tp_count / (tp_count + fp_count)
    edge = np.zeros((tp.shape[0], 1))
    envelope = np.maximum.accumulate(np.hstack([edge, precision, edge])[:, ::-1], axis=1)[:, ::-1]
    recall = np.hstack([edge, recall, edge + 1])
    steps = recall[:, 1:] != recall[:, :-1]
    gains = np.diff(recall, axis=1) * envelope[:, 1:]
    # Summing only the recall steps, per threshold, reproduces the reference's float sum exactly.
    return np.array(
        [g[s].sum() for g, s in zip(gains, steps, strict=True)], dtype=np.float32
    ).astype(np.float64)


def _blocks(text: str) -> Iterator[list[tuple[int, str]]]:
    """Split a proposal list into per-video blocks of (line_no, stripped line), blanks dropped."""
    block: list[tuple[int, str]] = []
    for line_no, line in enumerate(text.split("\n"), start=1):  # as file iteration splits
        if line.startswith("#"):
            if block:
                yield block
            block = []
        elif line.strip():
            block.append((line_no, line.strip()))
    if block:
        yield block


def _parse_block(filename: str, block: list[tuple[int, str]]) -> ProposalFileEntry:
    """One video's lines -> (video_id, num_frames, gt_boxes, proposal_boxes)."""
    reader = _BlockReader(filename, block)
    video_id = reader.line("video id")[1]
    frames = reader.number("number of frames", float)
    fps = reader.number("fps", float)
    if not np.isfinite(frames * fps) or frames * fps < 0:
        raise reader.error("num_frames x fps must be a finite number >= 0")
    gt_boxes = reader.boxes("ground truth", "label start end", (int, float, float))
    proposal_boxes = reader.boxes(
        "proposal", "label best_iou overlap_self start end", (int, float, float, float, float)
    )
    reader.expect_end(f"the proposals of video {video_id!r}")
    return video_id, int(frames * fps), gt_boxes, proposal_boxes


class _BlockReader:
    """Walks one video block line by line; errors name `file:line`."""

    def __init__(self, filename: str, block: list[tuple[int, str]]) -> None:
        self.filename = filename
        self.lines = iter(block)
        self.line_no = block[0][0]
        self.last_line_no = block[-1][0]

    def error(self, message: str) -> AnnotationError:
        return AnnotationError(f"{self.filename}:{self.line_no}: {message}")

    def line(self, what: str) -> tuple[int, str]:
        try:
            self.line_no, text = next(self.lines)
        except StopIteration:
            self.line_no = self.last_line_no
            raise self.error(f"video block ends before the {what}") from None
        return self.line_no, text

    def number(self, what: str, convert: type) -> Any:
        _, text = self.line(what)
        try:
            return convert(text)
        except ValueError:
            raise self.error(f"expected the {what}, got {text!r}") from None

    def boxes(self, kind: str, layout: str, fields: tuple[type, ...]) -> list[list[str]]:
        """A count line, then that many box lines whose fields parse as `fields` say."""
        count = self.number(f"number of {kind}s", int)
        if count < 0:
            raise self.error(f"negative number of {kind}s ({count})")
        boxes = []
        for i in range(count):
            _, text = self.line(f"{kind} line {i + 1} of {count}")
            tokens = text.split()
            if len(tokens) != len(fields) or not all(
                _parses(f, tok) for f, tok in zip(fields, tokens, strict=True)
            ):
                raise self.error(f"expected a {kind} line '{layout}', got {text!r}")
            boxes.append(tokens)
        return boxes

    def expect_end(self, after: str) -> None:
        extra = next(self.lines, None)
        if extra is not None:
            self.line_no = extra[0]
            raise self.error(f"unexpected line after {after}: {extra[1]!r}")


def _parses(convert: type, token: str) -> bool:
    """Whether `convert(token)` succeeds and gives a finite number."""
    try:
        return bool(np.isfinite(convert(token)))
    except ValueError:
        return False
