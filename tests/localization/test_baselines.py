"""sliding_window_proposals: every grid window once per video, in seconds, ranked by score."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vidact.localization.baselines import sliding_window_proposals


def test_every_grid_window_once_best_first() -> None:
    out = sliding_window_proposals({"v_a": {"duration_second": 26.0}, "v_b": {"duration_second": 13.0}}, num_points=14)
    assert set(out) == {"v_a", "v_b"}
    for name, duration in (("v_a", 26.0), ("v_b", 13.0)):
        proposals = out[name]
        scores = [p["score"] for p in proposals]
        assert len(proposals) == 91 and scores == sorted(scores, reverse=True)
        grid = np.linspace(0, duration, 14)
        expected = sorted((round(grid[i], 9), round(grid[j], 9)) for i, j in itertools.combinations(range(14), 2))
        assert sorted((round(s, 9), round(e, 9)) for s, e in (p["segment"] for p in proposals)) == expected


def test_num_points_must_allow_a_window() -> None:
    with pytest.raises(ValueError, match="num_points"):
        sliding_window_proposals({"v": {"duration_second": 1.0}}, num_points=1)
