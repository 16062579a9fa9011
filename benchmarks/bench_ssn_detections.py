"""Time SSN's detection post-processing and THUMOS'14 mAP at THUMOS'14-test scale.

    python benchmarks/bench_ssn_detections.py [--num-videos 213] [--num-proposals 600] [--num-classes 20]

Random raw outputs (softmax x exp(completeness) scores, regression offsets) for `--num-videos`
videos go through `results_to_detections` (top_k 2000), `regress_and_nms` (nms 0.2) and
`thumos14_map` against ~15 random ground-truth instances per video, each stage timed once (the
machine may be shared). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from vidact.localization.detections import SSNVideoOutput, regress_and_nms, results_to_detections, thumos14_map


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-videos", type=int, default=213)
    parser.add_argument("--num-proposals", type=int, default=600)
    parser.add_argument("--num-classes", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    outputs, gt = [], {}
    for v in range(args.num_videos):
        starts = rng.uniform(0, 0.95, args.num_proposals)
        proposals = np.stack([starts, np.minimum(1, starts + rng.uniform(0.005, 0.2, args.num_proposals))], 1)
        outputs.append(SSNVideoOutput(
            f"video_{v}", proposals, rng.normal(size=(args.num_proposals, args.num_classes + 1)),
            rng.normal(size=(args.num_proposals, args.num_classes)),
            rng.normal(scale=0.1, size=(args.num_proposals, args.num_classes, 2))))
        for _ in range(15):
            s = rng.uniform(0, 0.95)
            gt.setdefault(int(rng.integers(args.num_classes)), {}).setdefault(f"video_{v}", []).append(
                [s, s + rng.uniform(0.005, 0.05)])
    start = time.perf_counter()
    detections = results_to_detections([o.as_result() for o in outputs], [o.video_id for o in outputs], top_k=2000)
    t1 = time.perf_counter()
    kept = regress_and_nms(detections, 0.2)
    t2 = time.perf_counter()
    result = thumos14_map(kept, gt)
    t3 = time.perf_counter()
    total = sum(len(r) for per_video in detections for r in per_video.values())
    after = sum(len(r) for per_video in kept for r in per_video.values())
    print(f"{args.num_videos} videos x {args.num_proposals} proposals x {args.num_classes} classes")
    print(f"results_to_detections (top_k 2000): {t1 - start:.2f} s, {total} detections")
    print(f"regression + temporal NMS 0.2:      {t2 - t1:.2f} s, {after} kept")
    print(f"THUMOS'14 mAP (9 tIoUs):             {t3 - t2:.2f} s, average_mAP {result.metrics['average_mAP']:.4f}")


if __name__ == "__main__":
    main()
