"""End to end from raw untrimmed videos (issue 11), through the CLI: synthetic localization videos ->
`vidact extract-features` with a (tiny, untrained) toy TSM -> train the toy BMN on those features ->
`vidact proposals bmn` -> `vidact eval --metric AR@AN`. Checks that the pieces fit (file names,
shapes, the video_info fields against the annotation file), not the quality of the proposals; the
README's chain (a trained recognizer, 100 videos) gives the measured AR@100."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
sys.path.insert(0, str(ROOT / "tests"))


def _vidact(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "vidact", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_videos_to_proposals(tmp_path: Path) -> None:
    from toy_data import RECIPE, make_tiny, overrides

    from vidact.engine.checkpoint import save_checkpoint
    from vidact.engine.features import read_features
    from vidact.models import build_model
    from vidact.schemas.load import load_recipe

    data = tmp_path / "anet"
    _vidact("dataset", "synth", "localization", "--out", str(data), "--num-videos", "12", "--with-videos",
            "--temporal-scale", "16", "--feature-dim", "4", "--size", "32x32", "--fps", "8", "--seed", "3")
    tiny = make_tiny(tmp_path / "tiny")  # only for the recipe's paths; the checkpoint is untrained
    recipe_sets = overrides(tiny)
    recipe = load_recipe(RECIPE, recipe_sets)
    ckpt = tmp_path / "tsm.pth"
    save_checkpoint(ckpt, model=build_model(recipe.model), epoch=0, iteration=0, recipe=recipe.to_plain())
    feats = tmp_path / "feats"
    report = json.loads(_vidact("extract-features", str(RECIPE), "--checkpoint", str(ckpt), str(data / "videos"),
                                "--out", str(feats), "--temporal-dim", "32", "--workers", "1", "--json",
                                *[a for s in recipe_sets for a in ("--set", s)]))
    assert (report["extracted"], report["failed"], report["feature_dim"]) == (12, 0, 64)
    info = json.loads((feats / "video_info.json").read_text())
    anno = json.loads((data / "anet_anno_full.json").read_text())
    assert set(info) == set(anno)
    for name, entry in anno.items():
        assert read_features(feats / f"{name}.csv").shape == (32, 64)
        for key in ("duration_frame", "feature_frame", "fps"):
            assert info[name][key] == entry[key], (name, key)

    sets = ["--set", "model.feat_dim=64", "--set", "total_epochs=2", "--set", "data.workers_per_gpu=0"]
    for split, ann in (("train", "train"), ("val", "val"), ("test", "val")):
        sets += ["--set", f"data.{split}.ann_file={data / f'anet_anno_{ann}.json'}",
                 "--set", f"data.{split}.data_prefix={feats}"]
    work = tmp_path / "work"
    _vidact("train", "recipes/toy/bmn.yaml", "--work-dir", str(work), *sets)
    _vidact("proposals", "bmn", "recipes/toy/bmn.yaml", "--checkpoint", str(work / "epoch_2.pth"),
            "--out", str(tmp_path / "bmn.json"), *sets)
    out = _vidact("eval", "--metric", "AR@AN", "--ann", str(data / "anet_anno_val.json"), str(tmp_path / "bmn.json"),
                  "--json")
    metrics = json.loads(out)["metrics"]
    assert 0.0 <= metrics["AR@100"] <= 1.0
