"""SSN proposal lists made from ground truth: jittered copies of each instance plus random windows, or
ground-truth-free sliding windows (a baseline), each with its best IoU and self-overlap.

Reads the per-video ActivityNet layout (`duration_frame`, `fps`, `annotations` in seconds) that
`vidact dataset synth localization` writes; writes the list `SSNDataset` reads (frames, fps 1).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidact.errors import AnnotationError
from vidact.io.files import read_json
from vidact.segments import segment_iou


@dataclass(frozen=True)
class ProposalVideo:
    """One video of a proposal list: frames, ground truth (label, start_frame, end_frame), proposals."""

    video_id: str
    num_frames: int
    gts: np.ndarray  # (G, 3) int64 [label, start, end], label 1-based
    proposals: np.ndarray  # (P, 2) int64 [start, end)


def read_per_video_gt(path: str | Path, classes: Sequence[str]) -> list[tuple[str, int, np.ndarray]]:
    """(video_id, num_frames, (G, 3) [label, start_frame, end_frame]) per video; label = class position + 1.

    Raises:
        AnnotationError: not the per-video layout, or a label not in `classes`.
    """
    data = read_json(path)
    if not isinstance(data, dict) or "database" in data:
        raise AnnotationError(f"{path}: expected the per-video layout {{video: {{duration_frame, fps, annotations}}}}",
                              hint="use anet_anno_train.json / anet_anno_val.json of `vidact dataset synth localization`")
    index = {name: i + 1 for i, name in enumerate(classes)}
    videos = []
    for video_id, entry in data.items():
        where = f"{path}: [{json.dumps(video_id)}]"
        try:
            num_frames, fps = int(entry["duration_frame"]), float(entry["fps"])
            rows = [(index[a["label"]], *a["segment"]) for a in entry.get("annotations", [])]
        except KeyError as exc:
            raise AnnotationError(f"{where}: missing or unknown {exc}") from None
        except (TypeError, ValueError):
            raise AnnotationError(f"{where}: expected duration_frame, fps and annotations") from None
        gts = np.array([(c, round(s * fps), round(e * fps)) for c, s, e in rows], dtype=np.int64).reshape(-1, 3)
        gts[:, 1:] = np.clip(gts[:, 1:], 0, num_frames)
        videos.append((str(video_id), num_frames, gts[gts[:, 2] > gts[:, 1]]))
    return videos


def jittered_proposals(rng: np.random.Generator, num_frames: int, gts: np.ndarray, per_gt: int = 8,
                       num_random: int = 20, shift: float = 0.2, scale: float = 0.3) -> np.ndarray:
    """Each instance with `per_gt` copies (centre moved by N(0, shift * length), length times
    exp(N(0, scale)), the first copy exact), plus `num_random` uniform windows -> (P, 2) [start, end)."""
    lengths = (gts[:, 2] - gts[:, 1]).astype(np.float64)
    centres = (gts[:, 1] + gts[:, 2]) / 2.0
    noise = rng.normal(size=(len(gts), per_gt, 2))
    noise[:, 0] = 0.0
    new_centres = centres[:, None] + noise[..., 0] * shift * lengths[:, None]
    new_lengths = lengths[:, None] * np.exp(noise[..., 1] * scale)
    jittered = np.stack([new_centres - new_lengths / 2, new_centres + new_lengths / 2], axis=-1).reshape(-1, 2)
    random_lengths = rng.uniform(0.05, 0.5, num_random) * num_frames
    random_starts = rng.uniform(0, 1, num_random) * (num_frames - random_lengths)
    windows = np.stack([random_starts, random_starts + random_lengths], axis=1)
    return _clean(np.concatenate([jittered, windows]), num_frames)


def sliding_windows(num_frames: int, scales: Sequence[float] = (1 / 16, 1 / 8, 1 / 4, 1 / 2),
                    overlap: float = 0.75) -> np.ndarray:
    """Multi-scale windows of `scale * num_frames` frames, consecutive ones overlapping by `overlap`."""
    windows = []
    for scale in scales:
        length = max(2.0, scale * num_frames)
        starts = np.arange(0.0, max(num_frames - length, 0.0) + 1e-9, max(1.0, length * (1 - overlap)))
        windows.append(np.stack([starts, starts + length], axis=1))
    return _clean(np.concatenate(windows), num_frames)


def _clean(windows: np.ndarray, num_frames: int) -> np.ndarray:
    """Round to frames, clip to the video, drop windows shorter than 2 frames and duplicates."""
    frames = np.clip(np.round(windows), 0, num_frames).astype(np.int64)
    frames = frames[frames[:, 1] - frames[:, 0] >= 2]
    return np.unique(frames, axis=0)


def format_proposal_list(videos: Sequence[ProposalVideo]) -> str:
    """The SSN proposal list text: per video its ground truth and proposals with label, best IoU
    (over ground truths) and self-overlap (share of the proposal inside its best-overlapping instance)."""
    lines: list[str] = []
    for i, video in enumerate(videos):
        lines += [f"# {i}", video.video_id, str(video.num_frames), "1", str(len(video.gts))]
        lines += [f"{c} {s} {e}" for c, s, e in video.gts.tolist()]
        proposals = video.proposals.astype(np.float64)
        gts = video.gts[:, 1:].astype(np.float64)
        if len(gts):
            iou = segment_iou(proposals, gts)  # (P, G)
            inter = np.clip(np.minimum(proposals[:, 1:2], gts[None, :, 1]) - np.maximum(proposals[:, 0:1], gts[None, :, 0]),
                            0, None)
            overlap = (inter / (proposals[:, 1:2] - proposals[:, 0:1])).max(axis=1)
            best = iou.argmax(axis=1)
            best_iou = iou.max(axis=1)
            labels = np.where(best_iou > 0, video.gts[best, 0], 0)
        else:
            best_iou = overlap = np.zeros(len(proposals))
            labels = np.zeros(len(proposals), dtype=np.int64)
        lines.append(str(len(proposals)))
        lines += [f"{c} {iou:.4f} {ov:.4f} {s} {e}" for c, iou, ov, (s, e) in
                  zip(labels.tolist(), best_iou.tolist(), overlap.tolist(), video.proposals.tolist(), strict=True)]
    return "\n".join(lines) + "\n"


def make_proposal_list(ann: str | Path, classes: Sequence[str], *, sliding: bool = False, seed: int = 0,
                       per_gt: int = 8, num_random: int = 20) -> tuple[str, dict[str, Any]]:
    """The proposal list text for the videos of `ann`, and counts for a summary."""
    videos = []
    for index, (video_id, num_frames, gts) in enumerate(read_per_video_gt(ann, classes)):
        if sliding:
            proposals = sliding_windows(num_frames)
        else:
            proposals = jittered_proposals(np.random.default_rng((seed, index)), num_frames, gts, per_gt, num_random)
        videos.append(ProposalVideo(video_id, num_frames, gts, proposals))
    counts = {"videos": len(videos), "ground_truths": sum(len(v.gts) for v in videos),
              "proposals": sum(len(v.proposals) for v in videos)}
    return format_proposal_list(videos), counts
