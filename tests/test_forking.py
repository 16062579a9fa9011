"""vidact.forking: a forked child's arrays reach the parent, and a failing child leaves none."""

from __future__ import annotations

import numpy as np

from vidact.forking import compute_in_child


def test_the_child_s_arrays_reach_the_parent():
    segments, codes = np.arange(12.0).reshape(6, 2), np.array([3, -1, 7])
    join = compute_in_child(lambda: [segments, codes], (np.float64, np.int64), 15)
    got = join()
    np.testing.assert_array_equal(got[0], segments.reshape(-1))
    np.testing.assert_array_equal(got[1], codes)
    assert got[1].dtype == np.int64


def test_no_result_when_the_child_fails_returns_none_or_overflows():
    def fail():
        raise RuntimeError("in the child")

    assert compute_in_child(fail, (np.float64,), 4)() is None
    assert compute_in_child(lambda: None, (np.float64,), 4)() is None
    assert compute_in_child(lambda: [np.zeros(5)], (np.float64,), 4)() is None
    assert compute_in_child(lambda: [np.zeros(0)], (np.float64,), 0)()[0].shape == (0,)
