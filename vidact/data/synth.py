"""Synthetic ActivityNet-style ground truth, proposals and detections at any scale, for tests and benchmarks.

Everything is drawn with one seeded numpy Generator over whole arrays; only the final conversion to
the official JSON layout walks the entries.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from vidact.io import atomic_write_text

VERSION = "VERSION 1.3"
_ID_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8)
_NEAR_GT_FRACTION = 0.1  # share of proposals drawn around a ground-truth segment
_CORRECT_VIDEO_LABEL = 0.7  # chance that a video's predicted class is its true class
_OFF_LABEL_FRACTION = 0.2  # share of detections relabelled with a random class


def _video_ids(rng: np.random.Generator, num_videos: int) -> np.ndarray:
    """`num_videos` distinct ids 'v_' + 11 YouTube-like characters."""
    codes = rng.integers(0, _ID_ALPHABET.shape[0], size=(num_videos, 11))
    while True:
        ids = _ID_ALPHABET[codes].view("S11").reshape(-1).astype("U11")
        _, first = np.unique(ids, return_index=True)
        dup = np.setdiff1d(np.arange(num_videos), first)
        if dup.shape[0] == 0:
            return np.char.add("v_", ids)
        codes[dup] = rng.integers(0, _ID_ALPHABET.shape[0], size=(dup.shape[0], 11))


def _segments_in(rng: np.random.Generator, duration: np.ndarray, min_frac: float, max_frac: float) -> np.ndarray:
    """One random (N, 2) segment inside each of the given durations, length a fraction of it."""
    length = duration * rng.uniform(min_frac, max_frac, duration.shape[0])
    start = rng.uniform(0.0, 1.0, duration.shape[0]) * (duration - length)
    return np.stack([start, start + length], axis=1)


def _jittered(rng: np.random.Generator, source: np.ndarray, duration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Noisy copies of `source` (N, 2) clipped to [0, duration], and a quality in (0, 1] per copy."""
    length = source[:, 1] - source[:, 0]
    scale = np.exp(rng.uniform(np.log(0.15), np.log(3.0), (source.shape[0], 1)))  # log-uniform noise level
    noise = rng.normal(0.0, 1.0, source.shape) * scale
    seg = np.sort(source + noise * length[:, None], axis=1)
    seg = np.clip(seg, 0.0, duration[:, None])
    seg[:, 1] = np.maximum(seg[:, 1], np.minimum(seg[:, 0] + 0.1, duration))
    quality = np.exp(-2.0 * np.abs(noise).sum(axis=1))
    return seg, quality


def synth_activitynet(
    num_videos: int = 4728,
    proposals_per_video: int = 100,
    num_labels: int = 200,
    gt_per_video: float = 1.5,
    seed: int = 0,
) -> tuple[dict, dict, dict]:
    """Ground truth, proposals and detections in the official ActivityNet JSON layouts.

    Each video has one class and 1 + Poisson(gt_per_video - 1) annotated segments of that class.
    A tenth of its proposals are noisy copies of its segments (scored higher the less they moved),
    the rest random segments; all scores are mostly noise. At the default scale this gives
    AR@1 ~ 0.27, AR@100 ~ 0.79 and an AUC ~ 68, close to published ActivityNet results. Detections reuse
    the proposals with a label: the video's predicted class (right 70% of the time), or for 20% of
    entries a random class, and the proposal score times a class confidence. Every detection label
    is a class of the ground truth, as the kit requires.

    Returns:
        (ground_truth, proposals, detections): ground_truth is {"version", "taxonomy": [],
        "database": {video: {"subset": "validation", "duration", "annotations": [{"segment":
        [start, end], "label"}]}}}; proposals and detections are {"version", "results": {video:
        [{"segment", "score"(, "label")}]}, "external_data": {}}. Same seed, same output.
    """
    rng = np.random.default_rng(seed)
    label_names = np.array([f"action_{i:03d}" for i in range(num_labels)])
    ids = _video_ids(rng, num_videos)
    duration = np.round(rng.uniform(20.0, 240.0, num_videos), 2)
    video_label = rng.integers(0, num_labels, num_videos)

    gt_count = 1 + rng.poisson(max(gt_per_video - 1.0, 0.0), num_videos)
    gt_video = np.repeat(np.arange(num_videos), gt_count)
    gt_segment = np.round(_segments_in(rng, duration[gt_video], 0.05, 0.6), 2)

    num_props = num_videos * proposals_per_video
    prop_video = np.repeat(np.arange(num_videos), proposals_per_video)
    near = rng.random(num_props) < _NEAR_GT_FRACTION
    gt_start = np.cumsum(gt_count) - gt_count
    source = gt_start[prop_video] + (rng.random(num_props) * gt_count[prop_video]).astype(np.int64)
    jittered, quality = _jittered(rng, gt_segment[source], duration[prop_video])
    random_seg = _segments_in(rng, duration[prop_video], 0.02, 0.9)
    prop_segment = np.round(np.where(near[:, None], jittered, random_seg), 2)
    prop_score = np.where(near, 0.3 * quality, 0.0) + 0.7 * rng.random(num_props)

    # Wrong labels come from the classes present in the ground truth: the kit rejects any other.
    present = np.unique(video_label)
    predicted = np.where(rng.random(num_videos) < _CORRECT_VIDEO_LABEL, video_label,
                         rng.choice(present, num_videos))
    det_label = np.where(rng.random(num_props) < _OFF_LABEL_FRACTION, rng.choice(present, num_props),
                         predicted[prop_video])
    det_score = prop_score * rng.uniform(0.5, 1.0, num_props)

    ground_truth = {"version": VERSION, "taxonomy": [], "database": _database(
        ids, duration, label_names[video_label], gt_count, gt_segment)}
    proposals = {"version": VERSION, "results": _results(ids, proposals_per_video, prop_segment, prop_score),
                 "external_data": {}}
    detections = {"version": VERSION, "external_data": {}, "results": _results(
        ids, proposals_per_video, prop_segment, det_score, label_names[det_label])}
    return ground_truth, proposals, detections


def _database(ids: np.ndarray, duration: np.ndarray, video_label: np.ndarray, gt_count: np.ndarray,
              gt_segment: np.ndarray) -> dict:
    per_video = np.split(gt_segment, np.cumsum(gt_count)[:-1])
    return {
        vid: {"subset": "validation", "duration": dur,
              "annotations": [{"segment": seg, "label": label} for seg in segs]}
        for vid, dur, label, segs in zip(ids.tolist(), duration.tolist(), video_label.tolist(),
                                         (s.tolist() for s in per_video))
    }


def _results(ids: np.ndarray, per_video: int, segment: np.ndarray, score: np.ndarray,
             label: np.ndarray | None = None) -> dict:
    segs = segment.reshape(ids.shape[0], per_video, 2).tolist()
    scores = score.reshape(ids.shape[0], per_video).tolist()
    if label is None:
        return {vid: [{"segment": g, "score": s} for g, s in zip(vg, vs)]
                for vid, vg, vs in zip(ids.tolist(), segs, scores)}
    labels = label.reshape(ids.shape[0], per_video).tolist()
    return {vid: [{"label": lab, "segment": g, "score": s} for g, s, lab in zip(vg, vs, vl)]
            for vid, vg, vs, vl in zip(ids.tolist(), segs, scores, labels)}


def write_synth_activitynet(out_dir: str | os.PathLike, **kwargs: int | float) -> dict[str, Path]:
    """Write `synth_activitynet(**kwargs)` as gt.json, proposals.json and detections.json in `out_dir`.

    Returns:
        {"ground_truth": path, "proposals": path, "detections": path}.
    """
    out = Path(out_dir)
    ground_truth, proposals, detections = synth_activitynet(**kwargs)
    paths = {"ground_truth": out / "gt.json", "proposals": out / "proposals.json",
             "detections": out / "detections.json"}
    for key, data in zip(paths, (ground_truth, proposals, detections)):
        atomic_write_text(paths[key], json.dumps(data))
    return paths
