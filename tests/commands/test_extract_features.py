"""`vidact extract-features` through the CLI: --json, stdin paths, a corrupt video (exit 1), --concat."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from vidact.cli import VidactGroup
from vidact.commands.extract_features import extract_features_command
from vidact.engine.checkpoint import save_checkpoint
from vidact.engine.features import VIDEO_INFO, read_features
from vidact.models import build_model
from vidact.schemas.load import load_recipe

from toy_data import RECIPE, make_tiny, overrides, set_args


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(cls=VidactGroup)
    app.command("extract-features")(extract_features_command)
    app.command("unused")(lambda: None)  # two commands: Typer keeps the name
    return app


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny(tmp_path_factory.mktemp("tiny_synth"))


@pytest.fixture(scope="module")
def checkpoint(tiny, tmp_path_factory) -> Path:
    recipe = load_recipe(RECIPE, overrides(tiny))
    path = tmp_path_factory.mktemp("ckpt") / "untrained.pth"
    save_checkpoint(path, model=build_model(recipe.model), epoch=0, iteration=0, recipe=recipe.to_plain())
    return path


def base_args(tiny: Path, checkpoint: Path, out: Path) -> list[str]:
    return ["extract-features", str(RECIPE), "--checkpoint", str(checkpoint), "--out", str(out), *set_args(tiny)]


def test_json_and_stdin(app, tiny, checkpoint, tmp_path):
    src = sorted((tiny / "videos").rglob("*.mp4"))[:3]
    args = base_args(tiny, checkpoint, tmp_path / "f") + ["-", "--temporal-dim", "7", "--snippet-stride", "4",
                                                          "--format", "npy", "--workers", "0", "--json"]
    result = CliRunner().invoke(app, args, input="\n".join(map(str, src)) + "\n")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["videos"], report["extracted"], report["failed"], report["feature_dim"]) == (3, 3, 0, 64)
    for video in src:
        assert read_features(tmp_path / "f" / f"{video.stem}.npy").shape == (7, 64)
    info = json.loads((tmp_path / "f" / VIDEO_INFO).read_text())
    assert set(info) == {v.stem for v in src}
    again = CliRunner().invoke(app, args, input="\n".join(map(str, src)) + "\n")
    assert again.exit_code == 0 and json.loads(again.stdout)["skipped"] == 3


def test_corrupt_video_exit_1(app, tiny, checkpoint, tmp_path):
    src = sorted((tiny / "videos").rglob("*.mp4"))
    bad = tmp_path / "b_bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    args = base_args(tiny, checkpoint, tmp_path / "f") + [str(src[0]), str(bad), str(src[-1]), "--json",
                                                          "--temporal-dim", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["extracted"] == 2 and report["failed"] == 1 and report["failures"][0]["source"] == str(bad)
    assert "b_bad.mp4" in result.stderr
    assert read_features(tmp_path / "f" / f"{src[0].stem}.csv").shape == (1, 64)  # 16 frames, stride 16


def test_concat_and_usage_errors(app, tmp_path):
    for name, dim in (("rgb", 2), ("flow", 3)):
        (tmp_path / name).mkdir()
        np.savetxt(tmp_path / name / "v.csv", np.full((4, dim), dim), delimiter=",", comments="",
                   header=",".join(f"f{i}" for i in range(dim)))
    result = CliRunner().invoke(app, ["extract-features", "--concat", str(tmp_path / "rgb"), str(tmp_path / "flow"),
                                      "--out", str(tmp_path / "both"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["feature_dim"] == 5
    assert read_features(tmp_path / "both" / "v.csv").shape == (4, 5)
    missing = CliRunner().invoke(app, ["extract-features", str(RECIPE), "--out", str(tmp_path / "x")])
    assert missing.exit_code == 2
