"""Time what a user waits for on small things: `vidact --help`, a missing recipe, `vidact eval --help`.

    python benchmarks/bench_startup.py [--repeat 7] [--vidact PATH]

Runs each command line as a fresh process (`python -m vidact ...` unless --vidact gives the
console script) after one warm-up run, and prints the median and the fastest wall time of
--repeat runs, plus the heavy modules (torch, cv2, av) importing `vidact.cli` loads. Goal: every
line under 0.5 s warm. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "vidact --help": ["--help"],
    "vidact train missing.yaml": ["train", "missing.yaml"],
    "vidact eval --help": ["eval", "--help"],
    "vidact train --help": ["train", "--help"],
}


def _time(cmd: list[str], repeat: int) -> list[float]:
    subprocess.run(cmd, capture_output=True)  # warm the file cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--vidact", help="the vidact console script (default: python -m vidact)")
    args = parser.parse_args()
    base = [args.vidact] if args.vidact else [sys.executable, "-m", "vidact"]
    probe = "import sys, vidact.cli; print(' '.join(m for m in ('torch', 'cv2', 'av') if m in sys.modules) or '-')"
    heavy = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip()
    print(f"heavy modules loaded by `import vidact.cli`: {heavy}")
    print(f"{'command':<30} {'median':>8} {'fastest':>8}   ({args.repeat} runs each)")
    for name, argv in CASES.items():
        times = _time([*base, *argv], args.repeat)
        print(f"{name:<30} {statistics.median(times):>7.2f}s {min(times):>7.2f}s")


if __name__ == "__main__":
    main()
