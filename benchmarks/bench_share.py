"""Sharing the cores: one epoch of the toy TSM training alone, then two copies at once.

    python benchmarks/bench_share.py [--videos-per-class 100] [--epochs 1] [--copies 2]
                                     [--omp-wait-policy default|PASSIVE|ACTIVE] [--work-dir DIR]

Writes a synthetic recognition set with `vidact dataset synth recognition` (--videos-per-class
per class, 4 classes, a quarter held out), then trains `recipes/toy/tsm.yaml` on it for --epochs
(no validation) as `python -m vidact train`: once alone, then --copies runs started together. For
each run it prints the wall seconds and the CPU seconds (user + system of the process and its
loader workers, from wait4), and for the shared runs the ratio to the run alone. Goal: each copy
<= 2.2x the time alone with two copies.

By default the environment is left as vidact finds it (OMP_NUM_THREADS and OMP_WAIT_POLICY are
removed, so vidact's own defaults apply); --omp-wait-policy ACTIVE reproduces the spinning
threads vidact used to get. Prints figures, asserts nothing; on a shared machine the figures are
indicative only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "toy" / "tsm.yaml"


def _env(policy: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _train_cmd(data: Path, work_dir: Path, epochs: int) -> list[str]:
    sets = [f"total_epochs={epochs}", f"work_dir={work_dir}"]
    for split, ann in (("train", "train_list_videos.txt"), ("val", "val_list_videos.txt"),
                       ("test", "val_list_videos.txt")):
        sets += [f"data.{split}.ann_file={data / ann}", f"data.{split}.data_prefix={data}"]
    cmd = [sys.executable, "-m", "vidact", "train", str(RECIPE), "--no-validate"]
    for item in sets:
        cmd += ["--set", item]
    return cmd


def _run_together(cmds: list[list[str]], env: dict[str, str], logs: Path) -> list[tuple[float, float]]:
    """Start every command at once; (wall s, CPU s) of each, CPU from wait4's rusage."""
    start = time.perf_counter()
    procs = {}
    for i, cmd in enumerate(cmds):
        with open(logs / f"run{i}.log", "w") as log:
            procs[subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log).pid] = i
    results: list[tuple[float, float] | None] = [None] * len(cmds)
    while procs:
        pid, status, usage = os.wait4(-1, 0)
        if pid not in procs:
            continue
        i = procs.pop(pid)
        if os.waitstatus_to_exitcode(status) != 0:
            print(f"run {i} failed (exit {os.waitstatus_to_exitcode(status)}); see {logs / f'run{i}.log'}",
                  file=sys.stderr)
        results[i] = (time.perf_counter() - start, usage.ru_utime + usage.ru_stime)
    return [r for r in results if r is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos-per-class", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--omp-wait-policy", default="default", choices=["default", "PASSIVE", "ACTIVE"])
    parser.add_argument("--work-dir", type=Path, help="keep the data and runs here (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.work_dir or Path(tmp)
        data = root / "synth"
        env = _env(args.omp_wait_policy)
        if not (data / "train_list_videos.txt").exists():
            subprocess.run([sys.executable, "-m", "vidact", "dataset", "synth", "recognition", "--out", str(data),
                            "--videos-per-class", str(args.videos_per_class), "--force"], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        train = len((data / "train_list_videos.txt").read_text().splitlines())
        print(f"toy TSM, {args.epochs} epoch(s) on {train} synthetic training videos, "
              f"{os.cpu_count()} cores, OMP_WAIT_POLICY {args.omp_wait_policy}")
        (alone,) = _run_together([_train_cmd(data, root / "alone", args.epochs)], env, root)
        print(f"alone:      wall {alone[0]:7.1f} s   CPU {alone[1]:7.1f} s")
        shared = _run_together([_train_cmd(data, root / f"copy{i}", args.epochs) for i in range(args.copies)], env, root)
        for i, (wall, cpu) in enumerate(shared):
            print(f"copy {i + 1}/{args.copies}: wall {wall:7.1f} s   CPU {cpu:7.1f} s   "
                  f"{wall / alone[0]:.2f}x the wall time alone (goal <= 2.2x with 2 copies)")


if __name__ == "__main__":
    main()
