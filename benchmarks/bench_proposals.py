"""Time vidact's proposal stages against MMAction2's on the same inputs, back to back.

    python benchmarks/bench_proposals.py --mmaction-python /work/mmvenv/bin/python
    python benchmarks/bench_proposals.py --videos 50 --repeat 1            # vidact alone

Task `pgm-bsp` (the default): BSN's PGM + BSP on `--videos` (200) videos at `--temporal-scale`
(100). The script writes TEM results (smooth start/end/actionness curves around random ground-truth
segments, plus noise; one CSV per video, as the reference pipeline writes them) and a per-video
annotation file, then times the whole stage on each side:

- vidact: `vidact.localization.generate_candidate_proposals` over all videos (reading the TEM
  CSVs), then `generate_bsp_feature` (reading the TEM CSVs and the top-k rows of the proposal CSVs);
  best of `--repeat` runs.
- MMAction2 (with `--mmaction-python`): its own `generate_candidate_proposals` and
  `generate_bsp_feature` from `mmaction.models.localizers.utils`, in one subprocess.

Writing the proposal CSVs between the two calls is timed separately (each side writes its own,
`%.18e` like `np.savetxt`; BSP reads its own side's files). The outputs are then compared: proposals
row for row (and, where rows of equal score come in another order, as sets), features as arrays.
Prints figures only; no time is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidact.io.proposals import write_pgm_proposals, write_tem_results  # noqa: E402
from vidact.localization import generate_bsp_feature, generate_candidate_proposals  # noqa: E402

# ---- inputs ----------------------------------------------------------------------------------


def write_inputs(root: Path, num_videos: int, temporal_scale: int, seed: int = 0) -> list[dict]:
    """TEM result CSVs in `root/tem` and `root/ann.json` (per-video layout); returns the video_infos."""
    rng = np.random.default_rng(seed)
    t = (np.arange(temporal_scale) + 0.5) / temporal_scale
    ann = {}
    for v in range(num_videos):
        name = f"v_bench{v:05d}"
        duration_frame = int(rng.integers(900, 9000))
        duration_second = duration_frame / 30.0
        feature_frame = duration_frame // 16 * 16
        segments = np.sort(rng.uniform(0, 1, size=(int(rng.integers(1, 5)), 2)), axis=1)
        action = np.zeros(temporal_scale)
        start = np.zeros(temporal_scale)
        end = np.zeros(temporal_scale)
        for lo, hi in segments:
            action = np.maximum(action, ((t >= lo) & (t <= hi)) * 1.0)
            start = np.maximum(start, np.exp(-((t - lo) / 0.03) ** 2))
            end = np.maximum(end, np.exp(-((t - hi) / 0.03) ** 2))
        # In (0, 1) without clipping: no two scores tie, so both sides list proposals in one order.
        noise = rng.uniform(0.01, 0.25, size=(3, temporal_scale))
        tem = np.column_stack([action * 0.7 + noise[0], start * 0.7 + noise[1], end * 0.7 + noise[2],
                               t - 0.5 / temporal_scale, t + 0.5 / temporal_scale])
        write_tem_results(root / "tem" / f"{name}.csv", tem)
        corrected = feature_frame / duration_frame * duration_second
        ann[name] = {"duration_second": duration_second, "duration_frame": duration_frame,
                     "feature_frame": feature_frame, "fps": 30.0,
                     "annotations": [{"segment": [float(lo * corrected), float(hi * corrected)], "label": "x"}
                                     for lo, hi in segments]}
    (root / "ann.json").write_text(json.dumps(ann))
    return [dict(info, video_name=name) for name, info in ann.items()]


# ---- vidact ----------------------------------------------------------------------------------


def run_vidact(root: Path, infos: list[dict], args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """One vidact run: (times, proposals, features), proposals written to root/vidact_pgm."""
    videos = range(len(infos))
    start = time.perf_counter()
    proposals = generate_candidate_proposals(videos, infos, root / "tem", args.temporal_scale, args.peak_threshold)
    pgm_s = time.perf_counter() - start
    start = time.perf_counter()
    for name, rows in proposals.items():
        write_pgm_proposals(root / "vidact_pgm" / f"{name}.csv", rows)
    write_s = time.perf_counter() - start
    start = time.perf_counter()
    features = generate_bsp_feature(videos, infos, root / "tem", root / "vidact_pgm", top_k=args.top_k)
    bsp_s = time.perf_counter() - start
    return {"pgm_s": pgm_s, "write_s": write_s, "bsp_s": bsp_s}, proposals, features


# ---- MMAction2, in its own interpreter ---------------------------------------------------------

PEER_SCRIPT = r"""
import json, os, sys, time, types
import numpy as np
for name in ('mmaction.models.localizers.drn', 'mmaction.models.localizers.drn.drn'):
    module = types.ModuleType(name)
    module.DRN = type('DRN', (), {})  # the wheel lacks this package; nothing here uses it
    sys.modules[name] = module
from mmaction.models.localizers.utils import generate_bsp_feature, generate_candidate_proposals

job = json.loads(sys.argv[1])
root = job['root']
db = json.load(open(os.path.join(root, 'ann.json')))
infos = [dict(info, video_name=name) for name, info in db.items()]
videos = range(len(infos))
t0 = time.perf_counter()
proposals = generate_candidate_proposals(videos, infos, os.path.join(root, 'tem'), job['temporal_scale'],
                                         job['peak_threshold'])
t1 = time.perf_counter()
out = os.path.join(root, 'mmaction_pgm')
os.makedirs(out, exist_ok=True)
header = 'tmin,tmax,tmin_score,tmax_score,score,match_iou,match_ioa'
for name, rows in proposals.items():  # as tools/misc/bsn_proposal_generation.py writes them
    np.savetxt(os.path.join(out, name + '.csv'), rows, header=header, delimiter=',', comments='')
t2 = time.perf_counter()
features = generate_bsp_feature(videos, infos, os.path.join(root, 'tem'), out, top_k=job['top_k'])
t3 = time.perf_counter()
np.savez(os.path.join(root, 'mmaction.npz'), **{'pgm/' + k: v for k, v in proposals.items()},
         **{'bsp/' + k: v for k, v in features.items()})
print(json.dumps({'pgm_s': t1 - t0, 'write_s': t2 - t1, 'bsp_s': t3 - t2, 'numpy': np.__version__}))
"""


def run_mmaction(python: str, root: Path, args: argparse.Namespace) -> tuple[dict, dict, dict] | None:
    job = {"root": str(root), "temporal_scale": args.temporal_scale, "peak_threshold": args.peak_threshold,
           "top_k": args.top_k}
    proc = subprocess.run([python, "-c", PEER_SCRIPT, json.dumps(job)], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"MMAction2 run failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
        return None
    times = json.loads(proc.stdout.strip().splitlines()[-1])
    saved = np.load(root / "mmaction.npz")
    proposals = {key[4:]: saved[key] for key in saved.files if key.startswith("pgm/")}
    features = {key[4:]: saved[key] for key in saved.files if key.startswith("bsp/")}
    return times, proposals, features


# ---- comparison and report -------------------------------------------------------------------


def compare(ours: tuple[dict, dict], theirs: tuple[dict, dict], top_k: int) -> dict:
    """Proposals: identical row for row, or as sets (equal scores in another order); features likewise,
    rows matched through the proposals they describe."""
    (our_props, our_feats), (ref_props, ref_feats) = ours, theirs
    assert our_props.keys() == ref_props.keys() and our_feats.keys() == ref_feats.keys()
    counts = dict.fromkeys(["proposals_identical", "proposals_identical_up_to_ties", "features_identical",
                            "features_identical_up_to_ties"], 0)
    max_diff = 0.0
    for name, rows in our_props.items():
        ref, feat, ref_feat = ref_props[name], our_feats[name], ref_feats[name]
        if rows.shape == ref.shape and np.array_equal(rows, ref):
            counts["proposals_identical"] += 1
        elif rows.shape == ref.shape and np.array_equal(rows[_canonical(rows)], ref[_canonical(ref)]):
            counts["proposals_identical_up_to_ties"] += 1
        if feat.shape == ref_feat.shape and np.array_equal(feat, ref_feat):
            counts["features_identical"] += 1
        elif feat.shape == ref_feat.shape:
            ours_k, ref_k = rows[:top_k], ref[:top_k]
            if np.array_equal(ours_k[_canonical(ours_k)], ref_k[_canonical(ref_k)]):
                if np.array_equal(feat[_canonical(ours_k)], ref_feat[_canonical(ref_k)]):
                    counts["features_identical_up_to_ties"] += 1
            max_diff = max(max_diff, float(np.abs(feat - ref_feat).max()))
    return {"videos": len(our_props), **counts, "features_max_abs_diff_row_for_row": max_diff}


def _canonical(rows: np.ndarray) -> np.ndarray:
    """Row order by score (descending), then tmin, then tmax."""
    return np.lexsort((rows[:, 1], rows[:, 0], -rows[:, 4]))


def best_of(repeat: int, fn: Callable[[], tuple[dict, dict, dict]]) -> tuple[dict, dict, dict]:
    runs = [fn() for _ in range(repeat)]
    best = min(runs, key=lambda run: run[0]["pgm_s"] + run[0]["bsp_s"])
    return best


def bench_pgm_bsp(args: argparse.Namespace) -> None:
    """PGM + BSP, vidact against MMAction2 (when `--mmaction-python` is given)."""
    with tempfile.TemporaryDirectory(prefix="bench_proposals_") as tmp:
        root = Path(args.work_dir or tmp)
        infos = write_inputs(root, args.videos, args.temporal_scale)
        ours = best_of(args.repeat, lambda: run_vidact(root, infos, args))
        num_props = sum(len(p) for p in ours[1].values())
        print(f"{args.videos} videos, temporal scale {args.temporal_scale}, peak threshold {args.peak_threshold}: "
              f"{num_props / args.videos:.0f} candidate proposals per video, top {args.top_k} to BSP")
        print(f"{'stage':<26} {'vidact (s)':>11} {'MMAction2 (s)':>14} {'speed-up':>9}")
        theirs = run_mmaction(args.mmaction_python, root, args) if args.mmaction_python else None
        rows = [("PGM", "pgm_s"), ("BSP", "bsp_s"), ("PGM + BSP (whole stage)", None), ("(writing proposal CSVs)", "write_s")]
        for label, key in rows:
            ours_s = ours[0][key] if key else ours[0]["pgm_s"] + ours[0]["bsp_s"]
            if theirs is None:
                print(f"{label:<26} {ours_s:>11.3f}")
                continue
            theirs_s = theirs[0][key] if key else theirs[0]["pgm_s"] + theirs[0]["bsp_s"]
            print(f"{label:<26} {ours_s:>11.3f} {theirs_s:>14.3f} {theirs_s / ours_s:>8.1f}x")
        if theirs is not None:
            print(f"MMAction2 numpy {theirs[0]['numpy']}, vidact numpy {np.__version__}")
            print("outputs:", json.dumps(compare(ours[1:], theirs[1:], args.top_k)))


# ---- BMN training step -------------------------------------------------------------------------
# Task `bmn-step` (BMN training step, batch 8, scale 100, 400-d, CPU fp32, time and peak memory against
# MMAction2's BMN) goes here: a `bench_bmn_step(args)` function, its options in `main`, and an entry
# in TASKS.


TASKS: dict[str, Callable[[argparse.Namespace], None]] = {
    "pgm-bsp": bench_pgm_bsp,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), nargs="+", default=["pgm-bsp"])
    parser.add_argument("--mmaction-python", default=None,
                        help="interpreter with MMAction2 1.x installed (e.g. /work/mmvenv/bin/python)")
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--temporal-scale", type=int, default=100)
    parser.add_argument("--peak-threshold", type=float, default=0.5)
    parser.add_argument("--top-k", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="vidact runs; the fastest is reported")
    parser.add_argument("--work-dir", default=None, help="keep the generated files here")
    args = parser.parse_args()
    for task in args.task:
        TASKS[task](args)


if __name__ == "__main__":
    main()
