"""Write the sliding-window proposal baseline for an ActivityNet-style annotation file.

    python benchmarks/sliding_window_baseline.py --ann data/synth_anet/anet_anno_val.json --out sw.json
    vidact eval --metric AR@AN --ann data/synth_anet/anet_anno_val.json sw.json

The proposals (`vidact.localization.baselines.sliding_window_proposals`: all windows between 14
evenly spaced instants of each video, 91 per video, in random order) are scored by `vidact eval`
exactly as BMN's or BSN's results are, so the AR@AN numbers compare directly.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidact.io.files import atomic_write, read_json  # noqa: E402
from vidact.localization.baselines import sliding_window_proposals  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ann", required=True, help="ActivityNetDataset annotation file (video -> entry)")
    parser.add_argument("--out", required=True, help="results JSON to write")
    parser.add_argument("--num-points", type=int, default=14, help="window ends per video (default 14: 91 windows)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = sliding_window_proposals(read_json(args.ann), args.num_points, args.seed)
    with atomic_write(args.out, "w", encoding="utf-8") as fh:
        json.dump({"version": "VERSION 1.3", "results": results, "external_data": {}}, fh)
    print(f"wrote {args.out}: {sum(map(len, results.values()))} windows for {len(results)} videos", file=sys.stderr)


if __name__ == "__main__":
    main()
