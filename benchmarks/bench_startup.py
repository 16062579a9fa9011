"""Time what a user waits for on small things: `vidact --help`, a missing recipe, `vidact eval --help`.

    python benchmarks/bench_startup.py [--repeat 7] [--vidact PATH]

Runs each command line as a fresh process (`python -m vidact ...` unless --vidact gives the
console script) after one warm-up run, and prints the median and the fastest wall time and the
median CPU time of --repeat runs, plus the heavy modules (torch, cv2, av) importing `vidact.cli` loads. Goal: every
line under 0.5 s warm. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
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


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(cmd: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of each run; CPU time barely moves when other jobs
    share the machine, so it is the steadier figure there."""
    subprocess.run(cmd, capture_output=True)  # warm the file cache
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), _cpu_children()
        subprocess.run(cmd, capture_output=True)
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu_children() - cpu)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--vidact", help="the vidact console script (default: python -m vidact)")
    args = parser.parse_args()
    base = [args.vidact] if args.vidact else [sys.executable, "-m", "vidact"]
    probe = "import sys, vidact.cli; print(' '.join(m for m in ('torch', 'cv2', 'av') if m in sys.modules) or '-')"
    # cwd "/" so that `-c` does not put this checkout's directory ahead of PYTHONPATH on sys.path
    heavy = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd="/").stdout.strip()
    print(f"heavy modules loaded by `import vidact.cli`: {heavy}")
    print(f"{'command':<30} {'wall median':>12} {'fastest':>8} {'CPU median':>11}   ({args.repeat} runs each)")
    for name, argv in CASES.items():
        walls, cpus = _time([*base, *argv], args.repeat)
        print(f"{name:<30} {statistics.median(walls):>11.2f}s {min(walls):>7.2f}s {statistics.median(cpus):>10.2f}s")


if __name__ == "__main__":
    main()
