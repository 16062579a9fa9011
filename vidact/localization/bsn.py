"""BSN's proposal generation (PGM) and boundary-sensitive proposal features (BSP), under MMAction's names.

`generate_candidate_proposals` turns TEM start/end probability curves into scored candidate
proposals; `generate_bsp_feature` samples the actionness curve around each of them. Both work on
whole arrays per video (`candidate_proposals`, `bsp_feature` are the per-video kernels).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from vidact.errors import AnnotationError, InputError
from vidact.io.proposals import read_pgm_proposals, read_tem_results

FloatArray = npt.NDArray[np.float64]


def generate_candidate_proposals(
    video_list: Sequence[int],
    video_infos: Sequence[Mapping[str, Any]],
    tem_results_dir: str | os.PathLike,
    temporal_scale: int,
    peak_threshold: float,
    tem_results_ext: str = ".csv",
    result_dict: MutableMapping[str, FloatArray] | None = None,
) -> dict[str, FloatArray]:
    """Generate candidate proposals from temporal evaluation (TEM) results.

    For each video, reads `<tem_results_dir>/<video_name><tem_results_ext>` and returns the
    proposals as (N, 7) float64 rows `tmin, tmax, tmin_score, tmax_score, score, match_iou,
    match_ioa` (the PGM CSV columns), see `candidate_proposals`. `match_iou`/`match_ioa` are the
    best tIoU / IoP against the video's annotations, in normalised time (seconds divided by
    `feature_frame / duration_frame * duration_second`).

    Args:
        video_list: indexes into `video_infos` of the videos to process.
        video_infos: dicts with 'video_name', 'duration_frame', 'duration_second',
            'feature_frame' and 'annotations' (a list of {'segment': [start_sec, end_sec], ...}).
        tem_results_dir: folder of the TEM result CSVs.
        temporal_scale: number of temporal positions considered (the TEM's).
        peak_threshold: a position is also a candidate where its probability exceeds
            `peak_threshold` times the video's maximum.
        tem_results_ext: file extension of the TEM results; only '.csv'.
        result_dict: if given, each video's proposals are also stored in it.

    Returns:
        {video_name: (N, 7) float64 proposals}, best score first.

    Raises:
        NotImplementedError: `tem_results_ext` is not '.csv' (as in the reference).
        InputError: a missing or malformed TEM file, or one with fewer than `temporal_scale` rows.
        AnnotationError: a video with zero duration or a malformed annotation.
    """
    if tem_results_ext != ".csv":
        raise NotImplementedError("Only support csv format now.")
    proposal_dict = {}
    for video_index in video_list:
        video_info = video_infos[video_index]
        video_name = video_info["video_name"]
        tem_path = os.path.join(tem_results_dir, video_name + tem_results_ext)
        tem_results = read_tem_results(tem_path)
        if len(tem_results) < temporal_scale:
            raise InputError(f"{tem_path}: {len(tem_results)} rows, fewer than the temporal scale "
                             f"{temporal_scale}")
        gt_tmins, gt_tmaxs = _normalised_segments(video_info)
        proposals = candidate_proposals(tem_results[:, 1], tem_results[:, 2], temporal_scale, peak_threshold,
                                        gt_tmins, gt_tmaxs)
        proposal_dict[video_name] = proposals
        if result_dict is not None:
            result_dict[video_name] = proposals
    return proposal_dict


def candidate_proposals(
    start_scores: npt.NDArray[np.float32],
    end_scores: npt.NDArray[np.float32],
    temporal_scale: int,
    peak_threshold: float,
    gt_tmins: npt.ArrayLike,
    gt_tmaxs: npt.ArrayLike,
) -> FloatArray:
    """PGM for one video: every (start candidate, end candidate) pair with start < end, best first.

    Args:
        start_scores: (T,) float32 start probabilities, T >= temporal_scale.
        end_scores: (T,) float32 end probabilities.
        temporal_scale: positions 0..temporal_scale-1 are considered; position t sits at
            normalised time (t + 0.5) / temporal_scale.
        peak_threshold: see `generate_candidate_proposals`.
        gt_tmins: (G,) ground-truth starts, normalised time.
        gt_tmaxs: (G,) ground-truth ends.

    Returns:
        (N, 7) float64: tmin, tmax, tmin_score, tmax_score, score = tmin_score * tmax_score,
        match_iou, match_ioa (both 0 without ground truth). Sorted by score, descending; among
        equal scores, pairs with the later end (then the later start) come first, which is the
        reference's order whenever NumPy sorts its scores stably.
    """
    tgap = 1.0 / temporal_scale
    starts = np.flatnonzero(_boundary_candidates(start_scores, temporal_scale, peak_threshold))
    ends = np.flatnonzero(_boundary_candidates(end_scores, temporal_scale, peak_threshold))
    start_t = tgap / 2 + tgap * starts
    end_t = tgap / 2 + tgap * ends
    # All pairs, ends outer and starts inner in position order (the reference's order), start < end.
    pair_end = np.repeat(np.arange(len(ends)), len(starts))
    pair_start = np.tile(np.arange(len(starts)), len(ends))
    keep = start_t[pair_start] < end_t[pair_end]
    pair_end, pair_start = pair_end[keep], pair_start[keep]
    proposals = np.empty((len(pair_end), 7), np.float64)
    proposals[:, 0] = start_t[pair_start]
    proposals[:, 1] = end_t[pair_end]
    proposals[:, 2] = start_scores[starts[pair_start]]
    proposals[:, 3] = end_scores[ends[pair_end]]
    proposals[:, 4] = proposals[:, 2] * proposals[:, 3]
    proposals = proposals[np.argsort(proposals[:, 4], kind="stable")[::-1]]
    proposals[:, 5], proposals[:, 6] = _best_overlaps(proposals[:, 0], proposals[:, 1], gt_tmins, gt_tmaxs)
    return proposals


def _boundary_candidates(scores: npt.NDArray[np.float32], temporal_scale: int,
                         peak_threshold: float) -> npt.NDArray[np.bool_]:
    """(temporal_scale,) mask: the first and last positions, strict local peaks, and values above
    `peak_threshold * max` (compared in float64, as the reference does)."""
    mask = np.zeros(len(scores), bool)
    mask[[0, -1]] = True
    inner = scores[1:temporal_scale - 1]
    if len(inner):
        peak = (inner > scores[:temporal_scale - 2]) & (inner > scores[2:temporal_scale])
        high = inner.astype(np.float64) > peak_threshold * float(scores.max())
        mask[1:temporal_scale - 1] = peak | high
    return mask[:temporal_scale]


def _best_overlaps(tmins: FloatArray, tmaxs: FloatArray, gt_tmins: npt.ArrayLike,
                   gt_tmaxs: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Best tIoU and IoP of each proposal over the ground truths, in the reference's rounding order."""
    gt_min = np.asarray(gt_tmins, np.float64)[None, :]
    gt_max = np.asarray(gt_tmaxs, np.float64)[None, :]
    if gt_min.size == 0:
        return np.zeros(len(tmins)), np.zeros(len(tmins))
    tmin, tmax = tmins[:, None], tmaxs[:, None]
    length = tmax - tmin
    inter = np.maximum(np.minimum(tmax, gt_max) - np.maximum(tmin, gt_min), 0.0)
    iou = inter / (length - inter + gt_max - gt_min)
    return iou.max(axis=1), (inter / length).max(axis=1)


def _normalised_segments(video_info: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    """The annotation segments of one video in normalised time (seconds / corrected duration)."""
    name = video_info.get("video_name", "?")
    try:
        duration_frame = video_info["duration_frame"]
        corrected_second = float(video_info["feature_frame"]) / duration_frame * video_info["duration_second"]
        segments = [annotation["segment"] for annotation in video_info["annotations"]]
        gt_tmins = [segment[0] / corrected_second for segment in segments]
        gt_tmaxs = [segment[1] / corrected_second for segment in segments]
    except ZeroDivisionError:
        raise AnnotationError(f"video {name!r}: zero duration (duration_frame={video_info['duration_frame']}, "
                              f"feature_frame={video_info['feature_frame']}, "
                              f"duration_second={video_info['duration_second']})") from None
    except (KeyError, TypeError, IndexError) as exc:
        raise AnnotationError(f"video {name!r}: malformed annotation ({type(exc).__name__}: {exc})") from None
    return gt_tmins, gt_tmaxs


def generate_bsp_feature(
    video_list: Sequence[int],
    video_infos: Sequence[Mapping[str, Any]],
    tem_results_dir: str | os.PathLike,
    pgm_proposals_dir: str | os.PathLike,
    top_k: int = 1000,
    bsp_boundary_ratio: float = 0.2,
    num_sample_start: int = 8,
    num_sample_end: int = 8,
    num_sample_action: int = 16,
    num_sample_interp: int = 3,
    tem_results_ext: str = ".csv",
    pgm_proposal_ext: str = ".csv",
    result_dict: MutableMapping[str, FloatArray] | None = None,
) -> dict[str, FloatArray]:
    """Generate boundary-sensitive proposal (BSP) features for the top-k PGM proposals of each video.

    Reads `<tem_results_dir>/<video_name><tem_results_ext>` and the first `top_k` rows of
    `<pgm_proposals_dir>/<video_name><pgm_proposal_ext>`; see `bsp_feature`.

    Args:
        video_list: indexes into `video_infos` of the videos to process.
        video_infos: dicts with 'video_name'.
        tem_results_dir: folder of the TEM result CSVs.
        pgm_proposals_dir: folder of the PGM proposal CSVs.
        top_k: number of proposals (from the top of each file) to describe.
        bsp_boundary_ratio: half-width of the start and end regions, as a fraction of the
            proposal's length.
        num_sample_start: samples in the start region.
        num_sample_end: samples in the end region.
        num_sample_action: samples inside the proposal.
        num_sample_interp: interpolated points averaged into each sample.
        tem_results_ext: file extension of the TEM results; only '.csv'.
        pgm_proposal_ext: file extension of the proposals; only '.csv'.
        result_dict: if given, each video's feature is also stored in it.

    Returns:
        {video_name: (N, num_sample_action + num_sample_start + num_sample_end) float64}.

    Raises:
        NotImplementedError: an extension other than '.csv' (as in the reference).
        InputError: a missing or malformed TEM or proposal file.
    """
    if tem_results_ext != ".csv" or pgm_proposal_ext != ".csv":
        raise NotImplementedError("Only support csv format now.")
    bsp_feature_dict = {}
    for video_index in video_list:
        video_name = video_infos[video_index]["video_name"]
        tem_results = read_tem_results(os.path.join(tem_results_dir, video_name + tem_results_ext))
        proposal_path = os.path.join(pgm_proposals_dir, video_name + pgm_proposal_ext)
        # Reading only the rows kept is the reference's `proposals[:top_k]` for top_k >= 0.
        if top_k >= 0:
            proposals = read_pgm_proposals(proposal_path, max_rows=top_k, columns=("tmin", "tmax"))
        else:
            proposals = read_pgm_proposals(proposal_path, columns=("tmin", "tmax"))[:top_k]
        feature = bsp_feature(tem_results, proposals, bsp_boundary_ratio, num_sample_start, num_sample_end,
                              num_sample_action, num_sample_interp)
        bsp_feature_dict[video_name] = feature
        if result_dict is not None:
            result_dict[video_name] = feature
    return bsp_feature_dict


def bsp_feature(
    tem_results: npt.NDArray[np.float32],
    proposals: npt.NDArray[np.float32],
    bsp_boundary_ratio: float = 0.2,
    num_sample_start: int = 8,
    num_sample_end: int = 8,
    num_sample_action: int = 16,
    num_sample_interp: int = 3,
) -> FloatArray:
    """BSP features of one video: actionness sampled in each proposal's action, start and end regions.

    The actionness curve (T positions, zero-padded by `T // 4 + 10` positions on both sides) is
    linearly interpolated at `num_sample * num_sample_interp + 1` evenly spaced points per region,
    and each sample is the mean of `num_sample_interp + 1` consecutive points (neighbouring samples
    share their border point). The start region is `[tmin - r, tmin + r]` and the end region
    `[tmax - r, tmax + r]` with `r = bsp_boundary_ratio * (tmax - tmin)`, each extended by half a
    sample spacing on both sides; likewise the action region `[tmin, tmax]`.

    Args:
        tem_results: (T, 5) float32 TEM results (action, start, end, tmin, tmax).
        proposals: (N, >=2) float32 proposals, tmin and tmax in the first two columns.
        bsp_boundary_ratio, num_sample_start, num_sample_end, num_sample_action, num_sample_interp:
            see `generate_bsp_feature`.

    Returns:
        (N, num_sample_action + num_sample_start + num_sample_end) float64: action samples, then
        start, then end.
    """
    scale = len(tem_results)
    extend = int(scale / 4 + 10)
    # float32 where the reference computes in float32 (differences of float32 values), float64 elsewhere.
    gap = float(tem_results[0, 4] - tem_results[0, 3])
    last_tmax = float(tem_results[-1, 4])
    t_points = np.concatenate([
        -gap / 2 - np.arange(extend - 1, -1, -1, dtype=np.float64) * gap,
        gap / 2 + np.arange(scale, dtype=np.float64) * gap,
        gap / 2 + last_tmax + np.arange(extend, dtype=np.float64) * gap,
    ])
    actionness = np.concatenate([np.zeros(extend), tem_results[:, 0].astype(np.float64), np.zeros(extend)])

    tmin32, tmax32 = proposals[:, 0], proposals[:, 1]
    tlen = (tmax32 - tmin32).astype(np.float64)[:, None]
    tmin, tmax = tmin32.astype(np.float64)[:, None], tmax32.astype(np.float64)[:, None]
    start_lo, start_hi = tmin - tlen * bsp_boundary_ratio, tmin + tlen * bsp_boundary_ratio
    end_lo, end_hi = tmax - tlen * bsp_boundary_ratio, tmax + tlen * bsp_boundary_ratio
    regions = [  # (first point, region length, samples) of the action, start and end regions
        (tmin, tlen, num_sample_action),
        (start_lo, start_hi - start_lo, num_sample_start),
        (end_lo, end_hi - end_lo, num_sample_end),
    ]
    points = []
    for lo, length, num_sample in regions:
        spacing = length / (num_sample - 1)
        step = np.arange(num_sample * num_sample_interp + 1, dtype=np.float64)
        points.append(lo - spacing / 2 + (spacing / num_sample_interp) * step)
    t_new = np.concatenate(points, axis=1)
    values = np.interp(t_new.ravel(), t_points, actionness).reshape(t_new.shape)

    features, offset = [], 0
    for _, _, num_sample in regions:
        window = np.arange(num_sample)[:, None] * num_sample_interp + np.arange(num_sample_interp + 1)
        features.append(values[:, offset + window].mean(axis=-1))
        offset += num_sample * num_sample_interp + 1
    return np.concatenate(features, axis=1)
