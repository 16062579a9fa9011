"""post_processing: the reference's loop (soft-NMS, sort, top-k, seconds) written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from vidact.localization import post_processing, soft_nms

INFO = {"duration_frame": 1000, "duration_second": 40.0}


def _slow_post_processing(result, info, alpha, low, high, top_k, interval):
    if len(result) > 1:
        result = soft_nms(result, alpha, low, high, top_k)
    order = sorted(range(len(result)), key=lambda i: -result[i][-1])
    duration = (info["duration_frame"] // interval * interval) / info["duration_frame"] * info["duration_second"]
    out = []
    for i in order[:top_k]:
        out.append({"score": result[i][-1], "segment": [max(0, result[i][0]) * duration, min(1, result[i][1]) * duration]})
    return out


@pytest.mark.parametrize("top_k", [1, 5, 100])
def test_post_processing_matches_the_loop(top_k: int) -> None:
    rng = np.random.default_rng(top_k)
    bounds = np.sort(rng.uniform(-0.1, 1.1, size=(60, 2)), axis=1)
    result = np.column_stack([bounds, rng.uniform(size=(60, 4)), rng.uniform(0.01, 1, 60)])  # 7 columns like BMN's
    got = post_processing(result, INFO, 0.4, 0.5, 0.9, top_k, 16)
    expected = _slow_post_processing(result, INFO, 0.4, 0.5, 0.9, top_k, 16)
    assert len(got) == len(expected) == min(top_k, 60)
    for g, e in zip(got, expected):
        assert g["score"] == pytest.approx(e["score"])
        np.testing.assert_allclose(g["segment"], e["segment"])
    assert got[0]["segment"][0] >= 0 and max(p["segment"][1] for p in got) <= 992 / 1000 * 40.0 + 1e-9


def test_single_proposal_skips_soft_nms_and_converts_to_seconds() -> None:
    got = post_processing(np.array([[0.25, 0.5, 0.3]]), {"duration_frame": 160, "duration_second": 8.0}, 0.4, 0.5, 0.9, 10, 16)
    assert got == [{"score": pytest.approx(0.3), "segment": [pytest.approx(2.0), pytest.approx(4.0)]}]
