"""A model-free sliding-window proposal baseline, to put learned proposals (BMN, BSN) in context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def sliding_window_proposals(
    video_infos: Mapping[str, Mapping[str, Any]], num_points: int = 14, seed: int = 0
) -> dict[str, list[dict[str, Any]]]:
    """Every window whose ends lie on `num_points` evenly spaced instants of each video, in random order.

    With the default 14 points that is 91 windows per video at every scale from 1/13 of the video to
    the whole of it (fewer than the 100 proposals AR@100 allows); the scores are a seeded random
    permutation, so the AR@AN curve below 100 proposals shows what an uninformed ranking gives.

    Args:
        video_infos: video name -> an entry with "duration_second" (an `ActivityNetDataset` file).
        num_points: instants per video, including its start and end (>= 2).
        seed: seed of the random ranking.

    Returns:
        video name -> [{"segment": [start_sec, end_sec], "score": x}, ...], best score first, as the
        "results" of an ActivityNet results file.
    """
    if num_points < 2:
        raise ValueError(f"num_points must be at least 2, got {num_points}")
    rng = np.random.default_rng(seed)
    grid = np.linspace(0.0, 1.0, num_points)
    start_idx, end_idx = np.triu_indices(num_points, k=1)
    results = {}
    for name, info in video_infos.items():
        duration = float(info["duration_second"])
        scores = np.sort(rng.uniform(size=len(start_idx)))[::-1]
        order = rng.permutation(len(start_idx))
        segments = np.stack([grid[start_idx[order]], grid[end_idx[order]]], axis=1) * duration
        results[name] = [{"segment": [float(s), float(e)], "score": float(x)}
                         for (s, e), x in zip(segments.tolist(), scores.tolist())]
    return results
