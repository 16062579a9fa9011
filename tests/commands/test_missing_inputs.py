"""Missing input is exit 2 with a one-line error, before any work.

`vidact train` checks the recipe's data before it starts: a missing data_prefix or annotation file,
or a first batch of which nothing decodes, names the recipe key and the path, and no work dir is
created. A few bad files in a good dataset still train (the failure budget). `vidact test`,
`predict` and `train --resume` with a checkpoint file that does not exist say so.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from vidact.cli import VidactGroup
from vidact.commands import test as test_cmd
from vidact.commands.predict import predict_command
from vidact.commands.train import train_command
from vidact.data.build import build_dataset
from vidact.data.preflight import check_data_paths, check_first_batch
from vidact.errors import InputError
from vidact.schemas.load import load_recipe

from toy_data import RECIPE, make_tiny, overrides, set_args


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(cls=VidactGroup)
    app.command("train")(train_command)
    app.command("test")(test_cmd.test_command)
    app.command("predict")(predict_command)
    return app


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny(tmp_path_factory.mktemp("tiny_preflight"))


def _train(app: typer.Typer, tiny: Path, work_dir: Path, *extra: str):
    return CliRunner().invoke(app, ["train", str(RECIPE), "--work-dir", str(work_dir), *set_args(tiny), *extra])


@pytest.mark.parametrize(("key", "value", "what"), [
    ("data.train.data_prefix", "{root}/missing", "no such folder"),
    ("data.train.ann_file", "{root}/missing.txt", "no such file"),
    ("data.train.data_prefix", "{root}/train_list_videos.txt", "is a file, expected a folder"),
    ("data.val.data_prefix", "{root}/missing", "no such folder"),
])
def test_missing_paths_name_the_recipe_key(app, tiny, tmp_path, key, value, what):
    path = value.format(root=tiny)
    work_dir = tmp_path / "work"
    result = _train(app, tiny, work_dir, "--set", f"{key}={path}")
    assert result.exit_code == 2, result.output
    first = result.output.splitlines()[0]
    assert first == f"error: {key}: {path}: {what}"
    assert not work_dir.exists()


def test_val_paths_are_not_checked_without_validation(tmp_path, tiny):
    recipe = load_recipe(RECIPE, overrides(tiny, f"data.val.data_prefix={tmp_path / 'missing'}"))
    check_data_paths(recipe.data.train, "data.train")
    with pytest.raises(InputError, match=r"^data\.val\.data_prefix: "):
        check_data_paths(recipe.data.val, "data.val")


def test_first_batch_that_does_not_decode(app, tiny, tmp_path):
    # an existing folder that is not the one the list's paths are relative to
    prefix = tiny / "videos"
    work_dir = tmp_path / "work"
    result = _train(app, tiny, work_dir, "--set", f"data.train.data_prefix={prefix}")
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"error: data.train: none of the first 2 samples decodes "
                               f"(data.train.data_prefix is {prefix}); e.g. {prefix}/videos/")
    assert lines[0].endswith("no such file") and lines[1].startswith("hint: ")
    assert "Traceback" not in result.output and "neighbour" not in result.output
    assert not work_dir.exists()


def test_a_bad_file_in_a_good_dataset_still_trains(app, tiny, tmp_path):
    # the first listed video is broken; the rest of its batch decodes, the failure budget serves a neighbour
    data = tmp_path / "data"
    data.mkdir()
    (data / "videos").symlink_to(tiny / "videos")
    lines = (tiny / "train_list_videos.txt").read_text().splitlines()
    lines[0] = "videos/broken.mp4 " + lines[0].split()[1]
    (data / "train_list_videos.txt").write_text("\n".join(lines) + "\n")
    result = _train(app, tiny, tmp_path / "work", "--set", f"data.train.ann_file={data / 'train_list_videos.txt'}",
                    "--set", f"data.train.data_prefix={data}", "--set", "total_epochs=1", "--no-validate", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["epochs"] == 1


def test_first_batch_check_leaves_the_random_state(tiny):
    recipe = load_recipe(RECIPE, overrides(tiny))
    dataset = build_dataset(recipe.data.train)
    random.seed(3), np.random.seed(3), torch.manual_seed(3)
    expected = random.random(), np.random.rand(), torch.rand(1)
    random.seed(3), np.random.seed(3), torch.manual_seed(3)
    check_first_batch(dataset, recipe.data.train, "data.train", 2)  # decodes (and draws crops)
    assert (random.random(), np.random.rand(), torch.rand(1)) == expected


@pytest.mark.parametrize("command", ["test", "predict", "train"])
def test_missing_checkpoint_is_exit_2(app, tiny, tmp_path, command):
    missing = tmp_path / "nope.pth"
    video = next((tiny / "videos").rglob("*.mp4"))
    args = {"test": ["--checkpoint", str(missing), "--out", str(tmp_path / "s.json")],
            "predict": ["--checkpoint", str(missing), str(video)],
            "train": ["--resume", str(missing), "--work-dir", str(tmp_path / "work")]}[command]
    result = CliRunner().invoke(app, [command, str(RECIPE), *args, *set_args(tiny)])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[0] == f"error: {missing}: no such checkpoint file"
    assert "Traceback" not in result.output and not (tmp_path / "s.json").exists()
