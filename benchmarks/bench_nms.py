"""Time vidact's soft_nms against the slow per-element reference used by the tests.

    python benchmarks/bench_nms.py [--sizes 1000 5000] [--repeat 3]

Proposals are random segments on [0, 1] with BSN's parameters (alpha 0.4, thresholds 0.5 / 0.9);
top_k is 100 (BSN/BMN on ActivityNet) and N (keep everything). Prints figures only.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.localization import _reference as ref  # noqa: E402
from vidact.localization import soft_nms  # noqa: E402


def best_of(repeat: int, fn: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    """Fastest wall time of `repeat` calls, in seconds, and the last result."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    print(f"{'N':>6} {'top_k':>6} {'vidact (s)':>11} {'reference (s)':>14} {'speed-up':>9}")
    for n in args.sizes:
        bounds = np.sort(rng.uniform(0, 1, size=(n, 2)), axis=1)
        proposals = np.column_stack([bounds, rng.uniform(0, 1, size=n)])
        rows = proposals.tolist()
        for top_k in (100, n):
            params = (0.4, 0.5, 0.9, top_k)
            fast, got = best_of(args.repeat, partial(soft_nms, proposals, *params))
            slow, want = best_of(1, partial(ref.soft_nms, rows, *params))
            assert np.array_equal(got, want), "soft_nms disagrees with the reference"
            print(f"{n:>6} {top_k:>6} {fast:>11.4f} {slow:>14.3f} {slow / fast:>8.0f}x")


if __name__ == "__main__":
    main()
