"""AR@AN and detection mAP at ActivityNet-validation scale: vidact vs MMAction2 vs the official kit, interleaved.

    python benchmarks/bench_eval.py [--mmaction-python PY] [--official-kit DIR [--kit-python PY]]
                                    [--num-videos 4728] [--repeat 5] [--work-dir DIR] [--tasks AR@AN,mAP]

Generates 4,728 videos x 100 proposals (~1.5 ground-truth segments per video, 200 labels) with
`vidact.data.synth`, then for each task (AR@AN, mAP) runs, `--repeat` rounds, one after the other
in each round (so a busy moment hits all of them alike), each as a whole process:

- vidact: `python -m vidact eval --metric AR@AN|mAP --ann gt.json RESULTS --json`;
- MMAction2 (with --mmaction-python, the side venv of benchmarks/peers.sh): its own functions,
  fed as its ActivityNet metric feeds them: `ActivityNetLocalization(gt, results).evaluate()` for
  mAP (ground truth in the per-video layout it reads, video ids without "v_" in the results, as
  its dataset writes them) and `average_recall_at_avg_proposals` on the dicts `ANetMetric` builds,
  JSON reading included;
- the official kit (with --official-kit, a Python 3 copy of its `Evaluation/` folder):
  `ANETproposal` / `ANETdetection` with check_status=False, in `--kit-python` (it needs numpy,
  pandas and joblib); its mAP's per-class joblib jobs run in turn unless --kit-parallel.

Prints, per task and tool: median wall time, median CPU time (user + system), peak RSS, the
metrics each produced and their largest difference from vidact's, and the ratios peer / vidact;
then one summary table of those ratios. Asserts nothing.
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

ROOT = Path(__file__).resolve().parents[1]
TASKS = {"AR@AN": "proposals", "mAP": "detections"}
SHOWN = ("auc", "AR@1", "AR@100", "average_mAP", "mAP@0.50")

# Runs in the MMAction2 venv: argv = task, per-video gt, results (ids without "v_"). One JSON line out.
MMACTION_DRIVER = textwrap.dedent("""
    import json, sys, types
    sys.modules['mmaction.models.localizers.drn'] = types.ModuleType('mmaction.models.localizers.drn')
    import numpy as np
    task, gt_path, results_path = sys.argv[1:4]
    thresholds = np.linspace(0.5, 0.95, 10)
    if task == 'mAP':
        from mmaction.evaluation.functional.eval_detection import ActivityNetLocalization
        ev = ActivityNetLocalization(gt_path, results_path, tiou_thresholds=thresholds, verbose=False)
        m_ap, average = ev.evaluate()
        out = {'average_mAP': float(average)}
        out.update({'mAP@%.2f' % t: float(v) for t, v in zip(thresholds, m_ap)})
    else:
        from mmaction.evaluation import average_recall_at_avg_proposals
        with open(gt_path) as f:
            gt = json.load(f)
        # As ANetMetric.process builds it: id without 'v_' -> array of [start, end, label].
        ground_truth = {vid[2:]: np.array([[a['segment'][0], a['segment'][1], a['label']]
                                           for a in info['annotations']]) for vid, info in gt.items()}
        with open(results_path) as f:
            results = json.load(f)['results']
        proposals, total = {}, 0
        for vid, entries in results.items():  # as ANetMetric._import_proposals
            proposals[vid] = np.array([[e['segment'][0], e['segment'][1], e['score']] for e in entries])
            total += len(entries)
        recall, _, _, auc = average_recall_at_avg_proposals(ground_truth, proposals, total, max_avg_proposals=100,
                                                            temporal_iou_thresholds=thresholds)
        out = {'auc': float(auc), 'AR@1': float(np.mean(recall[:, 0])), 'AR@5': float(np.mean(recall[:, 4])),
               'AR@10': float(np.mean(recall[:, 9])), 'AR@100': float(np.mean(recall[:, 99]))}
    print(json.dumps(out))
""")

# Runs in --kit-python: argv = kit dir, task, gt (official layout), results, parallel (0/1). One JSON line out.
# The kit's detection runs one joblib job per class with n_jobs = number of classes (200 processes):
# unless asked for (--kit-parallel) they run one after the other in the kit's process, so that its
# CPU time is all counted (wait4 does not see pool workers that are not reaped) and a small machine
# is not swamped.
KIT_DRIVER = textwrap.dedent("""
    import contextlib, json, sys
    kit_dir, task, gt, results, parallel = sys.argv[1:6]
    sys.path.insert(0, kit_dir)
    import numpy as np
    if parallel == '1':
        jobs = contextlib.nullcontext()
    else:
        from joblib import parallel_config
        jobs = parallel_config(backend='sequential')
    jobs.__enter__()
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
        from eval_detection import ANETdetection
        ev = ANETdetection(gt, results, tiou_thresholds=thresholds, subset='validation', verbose=False,
                           check_status=False)
        ev.evaluate()
        out = {'average_mAP': float(ev.average_mAP)}
        out.update({'mAP@%.2f' % t: float(v) for t, v in zip(thresholds, ev.mAP)})
    print(json.dumps(out))
""")


def run_process(cmd: list[str], parse) -> tuple[float, float, float, dict]:
    """(wall s, CPU s, peak RSS MB, metrics) of one whole process, reaped with os.wait4 for its own usage."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[:6])} ... failed ({proc.returncode}):\n{err.read()[-2000:]}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, parse(out.read())


def vidact_cmd(task: str, gt: Path, results: Path) -> list[str]:
    return [sys.executable, "-m", "vidact", "eval", "--metric", task, "--ann", str(gt), str(results), "--json"]


# Runs in a child process, so this script stays small: a child forked from a big parent reports the
# parent's resident set as its own peak (Linux keeps the pre-exec high-water mark).
PREPARE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from vidact.data.synth import write_synth_activitynet
    work, num_videos = Path(sys.argv[2]), int(sys.argv[3])
    paths = write_synth_activitynet(work, num_videos=num_videos)
    # MMAction2's inputs: ground truth in the per-video layout it reads, results keyed without "v_".
    database = json.loads(paths['ground_truth'].read_text())['database']
    per_video = {vid: {'duration_second': info['duration'], 'annotations': info['annotations']}
                 for vid, info in database.items() if info['subset'] == 'validation'}
    (work / 'mm_gt.json').write_text(json.dumps(per_video))
    for kind in ('proposals', 'detections'):
        data = json.loads(paths[kind].read_text())
        data['results'] = {vid[2:] if vid.startswith('v_') else vid: v for vid, v in data['results'].items()}
        (work / ('mm_' + kind + '.json')).write_text(json.dumps(data))
""")


def _max_diff(ours: dict, theirs: dict) -> float:
    common = [k for k in theirs if k in ours]
    return max((abs(ours[k] - theirs[k]) for k in common), default=float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mmaction-python", help="python of the MMAction2 side venv (benchmarks/peers.sh)")
    parser.add_argument("--official-kit", "--kit-dir", dest="kit_dir", type=Path,
                        help="a Python 3 copy of the official kit's Evaluation/ folder")
    parser.add_argument("--kit-python", default=sys.executable, help="interpreter with the kit's dependencies")
    parser.add_argument("--kit-parallel", action="store_true",
                        help="let the kit's mAP start its one process per class (default: its jobs run in turn)")
    parser.add_argument("--tasks", default="AR@AN,mAP", help="comma-separated subset of AR@AN,mAP")
    parser.add_argument("--num-videos", type=int, default=4728)
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds (medians are shown)")
    parser.add_argument("--work-dir", type=Path, help="keep the generated files here (default: a temp dir)")
    args = parser.parse_args()
    # The peers come from pip, which byte-compiles them; an editable vidact is compiled here (where
    # PYTHONDONTWRITEBYTECODE is set Python would otherwise compile it again in every timed run).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "vidact")], check=True)

    with tempfile.TemporaryDirectory() as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", PREPARE, str(ROOT), str(work), str(args.num_videos)], check=True)
        paths = {"ground_truth": work / "gt.json", "proposals": work / "proposals.json",
                 "detections": work / "detections.json"}
        print(f"input: {args.num_videos} videos x 100 proposals, 200 labels, in {work}")
        mm = {"gt": work / "mm_gt.json", "AR@AN": work / "mm_proposals.json", "mAP": work / "mm_detections.json"} \
            if args.mmaction_python else None
        if not args.mmaction_python:
            print("MMAction2: skipped (give --mmaction-python; benchmarks/peers.sh creates its venv)")
        if not args.kit_dir:
            print("official kit: skipped (give --official-kit DIR, a Python 3 copy of its Evaluation/ folder)")
        elif not args.kit_parallel:
            print("official kit: mAP's per-class joblib jobs run in turn in its process (--kit-parallel: 200 processes)")
        last_line = lambda out: json.loads(out.strip().splitlines()[-1])  # noqa: E731
        summary = []
        for task, kind in TASKS.items():
            if task not in args.tasks.split(","):
                continue
            tools = {"vidact": (vidact_cmd(task, paths["ground_truth"], paths[kind]),
                                lambda out: json.loads(out)["metrics"])}
            if mm:
                tools["MMAction2"] = ([args.mmaction_python, "-c", MMACTION_DRIVER, task, str(mm["gt"]),
                                       str(mm[task])], last_line)
            if args.kit_dir:
                tools["kit"] = ([args.kit_python, "-c", KIT_DRIVER, str(args.kit_dir), task,
                                 str(paths["ground_truth"]), str(paths[kind]), str(int(args.kit_parallel))],
                                last_line)
            runs: dict[str, list] = {name: [] for name in tools}
            for _ in range(max(args.repeat, 1)):
                for name, (cmd, parse) in tools.items():
                    runs[name].append(run_process(cmd, parse))
            print(f"\n{task}: medians of {args.repeat} interleaved rounds (whole processes)")
            print(f"  {'tool':<10} {'wall s':>8} {'CPU s':>7} {'peak MB':>8} {'wall x':>7} {'CPU x':>6}  metrics")
            ours = None
            for name, results in runs.items():
                wall = statistics.median(r[0] for r in results)
                cpu = statistics.median(r[1] for r in results)
                rss = max(r[2] for r in results)
                metrics = results[0][3]
                if ours is None:
                    ours = (wall, cpu, metrics)
                    ratio = f"{'1.0':>7} {'1.0':>6}"
                else:
                    ratio = f"{wall / ours[0]:>6.1f}x {cpu / ours[1]:>5.1f}x"
                shown = {k: round(v, 6) for k, v in metrics.items() if k in SHOWN}
                diff = "" if name == "vidact" else f" (max |diff| vs vidact {_max_diff(ours[2], metrics):.2e})"
                print(f"  {name:<10} {wall:>8.3f} {cpu:>7.3f} {rss:>8.0f} {ratio}  {shown}{diff}")
                if name == "vidact":
                    our_rss = rss
                else:
                    summary.append((task, name, wall / ours[0], cpu / ours[1], our_rss / rss,
                                    _max_diff(ours[2], metrics)))
        if summary:
            print("\nsummary: peer / vidact (medians of whole processes; peak RSS vidact / peer)")
            print(f"  {'task':<6} {'peer':<10} {'wall x':>7} {'CPU x':>7} {'RSS':>6}  max |metric diff|")
            for task, name, wall_x, cpu_x, rss_share, diff in summary:
                print(f"  {task:<6} {name:<10} {wall_x:>6.1f}x {cpu_x:>6.1f}x {rss_share:>6.2f}  {diff:.2e}")


if __name__ == "__main__":
    main()
