"""Snippet feature extraction speed: `vidact.engine.features.extract_features` with 0..N loader workers.

Writes `--num-videos` untrimmed synthetic videos (`synth_localization(with_videos=True)`, 64x64,
15 fps, 8-24 s) once, saves an untrained checkpoint of the toy TSM recipe (3 ResNet-18 stages, a
clip of 8 frames per 16-frame snippet), then extracts features of every video for each
`--workers` value into a fresh folder and prints videos/s, snippets/s and the share of the run
spent waiting for the next decoded chunk (0 workers: decoding and model run in turn in this
process; >= 1: decoding in DataLoader workers overlaps the model). Prints figures; asserts nothing.
Example:

    .venv/bin/python benchmarks/bench_features.py --num-videos 8 --workers 0 1 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "toy" / "tsm.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-videos", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the videos here (default: a temp folder)")
    args = parser.parse_args()

    import torch

    from vidact.engine.checkpoint import save_checkpoint
    from vidact.engine.features import extract_features, gather_inputs
    from vidact.models import build_model
    from vidact.schemas.load import load_recipe

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_features_"))
    data = work / "synth"
    if not (data / "videos").is_dir():
        from vidact.data.synth_video import synth_localization

        synth_localization(data, num_videos=args.num_videos, with_videos=True, overwrite=True, feature_dim=4)
    recipe = load_recipe(RECIPE, [])
    ckpt = work / "untrained_tsm.pth"
    torch.manual_seed(0)
    save_checkpoint(ckpt, model=build_model(recipe.model), epoch=0, iteration=0, recipe=recipe.to_plain())
    jobs = gather_inputs([data / "videos"])
    frames = sum(v["duration_frame"] for v in json.loads((data / "dataset.json").read_text())["videos"])
    print(f"{len(jobs)} videos, {frames} frames, torch threads {torch.get_num_threads()}, "
          f"cuda {torch.cuda.is_available()}")
    for workers in args.workers:
        out = work / f"features_w{workers}"
        shutil.rmtree(out, ignore_errors=True)
        summary = extract_features(recipe, ckpt, jobs, out, batch_size=args.batch_size, workers=workers)
        snippets = sum(json.loads((out / "video_info.json").read_text())[j.rel]["num_snippets"] for j in jobs)
        report = summary.to_dict()
        print(f"workers {workers}: {report['seconds']:.2f} s, {report['videos_per_sec']:.2f} videos/s, "
              f"{snippets / summary.seconds:.1f} snippets/s, waiting on data {100 * report['data_wait_share']:.0f}% "
              f"({summary.device})")


if __name__ == "__main__":
    main()
