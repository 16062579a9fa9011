"""DecordReader (only when decord is installed) agrees with a sequential PyAV decode."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("decord")

from vidact.data.decoding import DecordReader, count_frames  # noqa: E402


@pytest.mark.parametrize("name", ["long_gop", "short_gop", "no_bframes"])
def test_frames_match_sequential_decode(videos, reference_frames, stamps, name):
    ref = reference_frames[name]
    rng = np.random.default_rng(3)
    with DecordReader(videos[name]) as reader:
        assert reader.num_frames == len(ref) == count_frames(videos[name])
        assert reader.shape == (48, 64)
        for indices in [np.array([len(ref) - 1, 0, 0])] + [
            rng.integers(0, len(ref), 8) for _ in range(5)
        ]:
            got = reader.get_frames(indices)
            assert stamps(got) == indices.tolist()
            np.testing.assert_allclose(got, ref[indices], atol=3)
