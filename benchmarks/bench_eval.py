"""Time vidact's AR@AN and detection mAP on ActivityNet-validation-scale input, optionally against the official kit.

    python benchmarks/bench_eval.py [--kit-dir DIR [--kit-python PY] [--kit-jobs N] [--kit-repeat 1]]
                                    [--num-videos 4728] [--repeat 5] [--work-dir DIR]

Generates 4,728 videos x 100 proposals (~1.5 ground-truth segments per video, 200 labels) with
`vidact.data.synth`, then times the whole evaluation: `vidact eval --metric AR@AN|mAP --ann gt.json
RESULTS --json` as a subprocess when that command works, otherwise (said in the output) reading the
JSON files and calling `vidact.evaluation.ar_an` / `detection_map` in this process.

With --kit-dir (a checkout of the official kit's `Evaluation/` folder) the kit's own
`ANETproposal` / `ANETdetection` (what `get_proposal_performance.py` / `get_detection_performance.py`
run, with check_status=False so nothing is fetched) evaluate the same files in a subprocess of
--kit-python; both times, the ratio and the metrics of both are printed. Times are medians of the
repeats (the machine may be shared). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidact.data.synth import write_synth_activitynet  # noqa: E402
from vidact.evaluation import Segments, ar_an, detection_map  # noqa: E402

TASKS = {"AR@AN": "proposals", "mAP": "detections"}
SHOWN = ("auc", "AR@1", "AR@100", "average_mAP", "mAP@0.50")

# Runs inside --kit-python (Python 2 or 3): imports the kit from sys.argv[1] and prints one JSON line.
KIT_DRIVER = textwrap.dedent("""
    import json, sys, time
    kit_dir, task, gt, results, jobs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    sys.path.insert(0, kit_dir)
    import numpy as np
    start = time.time()
    thresholds = np.linspace(0.5, 0.95, 10)
    if task == 'AR@AN':
        from eval_proposal import ANETproposal
        ev = ANETproposal(gt, results, tiou_thresholds=thresholds, max_avg_nr_proposals=100,
                          subset='validation', verbose=False, check_status=False)
        ev.evaluate()
        trapz = getattr(np, 'trapezoid', None) or np.trapz
        auc = 100. * float(trapz(ev.avg_recall, ev.proposals_per_video)) / ev.proposals_per_video[-1]
        out = {'auc': auc, 'AR@1': float(ev.recall[:, 0].mean()), 'AR@100': float(ev.recall[:, 99].mean())}
    else:
        import eval_detection
        if jobs > 0:
            from joblib import Parallel
            eval_detection.Parallel = lambda n_jobs=None, **kw: Parallel(n_jobs=jobs, **kw)
        ev = eval_detection.ANETdetection(gt, results, tiou_thresholds=thresholds, subset='validation',
                                          verbose=False, check_status=False)
        ev.evaluate()
        out = {'average_mAP': float(ev.average_mAP), 'mAP@0.50': float(ev.mAP[0])}
    out['seconds'] = time.time() - start
    print(json.dumps(out))
""")


def cli_available() -> bool:
    """True when `python -m vidact eval --help` runs and offers --metric."""
    try:
        proc = subprocess.run([sys.executable, "-m", "vidact", "eval", "--help"], capture_output=True, text=True,
                              timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and "--metric" in proc.stdout


def run_cli(task: str, gt: Path, results: Path) -> tuple[float, dict[str, float]]:
    """Wall time of one `vidact eval ... --json` subprocess and the metrics it printed."""
    cmd = [sys.executable, "-m", "vidact", "eval", "--metric", task, "--ann", str(gt), str(results), "--json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds, json.loads(proc.stdout)["metrics"]


def _segments(path: Path, key: str) -> tuple[dict, Segments]:
    data = json.loads(path.read_text())
    if key == "database":
        items = [(v, a) for v, d in data["database"].items() if d["subset"] == "validation" for a in d["annotations"]]
    else:
        items = [(v, r) for v, rs in data["results"].items() for r in rs]
    seg = Segments(np.array([v for v, _ in items]), np.array([e["segment"] for _, e in items], dtype=float),
                   np.array([e.get("label", "") for _, e in items]),
                   np.array([e["score"] for _, e in items], dtype=float) if key == "results" else None)
    return data, seg


def _by_video(seg: Segments, columns: np.ndarray) -> dict[str, np.ndarray]:
    order = np.argsort(seg.video, kind="stable")
    names, starts = np.unique(seg.video[order], return_index=True)
    return dict(zip(names.tolist(), np.split(columns[order], starts[1:])))


def run_api(task: str, gt: Path, results: Path) -> tuple[float, dict[str, float]]:
    """Read the JSON files and evaluate in this process: (seconds, metrics incl. 'seconds_metric')."""
    start = time.perf_counter()
    _, gt_seg = _segments(gt, "database")
    _, pred = _segments(results, "results")
    if task == "AR@AN":
        gt_arrays = _by_video(gt_seg, gt_seg.segment)
        proposals = _by_video(pred, np.column_stack([pred.segment, pred.score]))
        metric_start = time.perf_counter()
        metrics = ar_an(gt_arrays, proposals, max_avg_proposals=100).metrics
    else:
        metric_start = time.perf_counter()
        metrics = detection_map(gt_seg, pred).metrics
    end = time.perf_counter()
    return end - start, {**metrics, "seconds_metric": end - metric_start}


def run_kit(python: str, kit_dir: Path, task: str, gt: Path, results: Path, jobs: int) -> tuple[float, dict]:
    """Wall time of the kit's evaluation in a subprocess, and what it reported (incl. its own 'seconds')."""
    start = time.perf_counter()
    proc = subprocess.run([python, "-c", KIT_DRIVER, str(kit_dir), task, str(gt), str(results), str(jobs)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the kit failed on {task} ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds, json.loads(proc.stdout.strip().splitlines()[-1])


def _median_run(runs: list[tuple[float, dict]]) -> tuple[float, dict]:
    """The median wall time of `runs` (seconds, metrics) and the metrics of the run closest to it."""
    median = statistics.median(seconds for seconds, _ in runs)
    return median, min(runs, key=lambda run: abs(run[0] - median))[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kit-dir", type=Path, help="the official kit's Evaluation/ folder")
    parser.add_argument("--kit-python", default=sys.executable, help="interpreter with the kit's dependencies")
    parser.add_argument("--kit-jobs", type=int, default=os.cpu_count() or 1,
                        help="cap on the kit's joblib workers for mAP (0: one per class, as the kit does)")
    parser.add_argument("--num-videos", type=int, default=4728)
    parser.add_argument("--repeat", type=int, default=5, help="vidact runs per task (the median is shown)")
    parser.add_argument("--kit-repeat", type=int, default=1, help="kit runs per task (the median is shown)")
    parser.add_argument("--work-dir", type=Path, help="keep the generated files here (default: a temp dir)")
    parser.add_argument("--api", action="store_true", help="time in-process API calls even if `vidact eval` works")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = args.work_dir or Path(tmp)
        start = time.perf_counter()
        paths = write_synth_activitynet(work, num_videos=args.num_videos)
        print(f"input: {args.num_videos} videos x 100 proposals, 200 labels, in {work} "
              f"(generated in {time.perf_counter() - start:.1f} s)")
        use_cli = not args.api and cli_available()
        if use_cli:
            print("vidact: `vidact eval --json` subprocess (whole process)")
        else:
            print("vidact: JSON reading + API call in this process"
                  + ("" if args.api else " (`vidact eval` is not available)"))
        if args.kit_dir:
            jobs = "one per class" if args.kit_jobs == 0 else str(args.kit_jobs)
            print(f"kit: {args.kit_dir} with {args.kit_python} (mAP joblib workers: {jobs}); "
                  "kit time = its subprocess wall time")
        print(f"{'task':<7} {'vidact (s)':>11} {'kit (s)':>9} {'kit/vidact':>11}  metrics")
        for task, kind in TASKS.items():
            run = run_cli if use_cli else run_api
            timings = [run(task, paths["ground_truth"], paths[kind]) for _ in range(max(args.repeat, 1))]
            ours, metrics = _median_run(timings)
            shown = {k: round(v, 6) for k, v in metrics.items() if k in SHOWN}
            if "seconds_metric" in metrics:
                shown["metric call (s)"] = round(metrics["seconds_metric"], 3)
            if not args.kit_dir:
                print(f"{task:<7} {ours:>11.3f} {'-':>9} {'-':>11}  vidact {shown}")
                continue
            kit_runs = [run_kit(args.kit_python, args.kit_dir, task, paths["ground_truth"], paths[kind], args.kit_jobs)
                        for _ in range(max(args.kit_repeat, 1))]
            theirs, kit_metrics = _median_run(kit_runs)
            kit_shown = {k: round(v, 6) for k, v in kit_metrics.items() if k != "seconds"}
            print(f"{task:<7} {ours:>11.3f} {theirs:>9.2f} {theirs / ours:>10.1f}x  vidact {shown}")
            print(f"{'':<7} {'':>11} {'':>9} {'':>11}  kit    {kit_shown} (its evaluation alone: "
                  f"{kit_metrics['seconds']:.2f} s)")


if __name__ == "__main__":
    main()
