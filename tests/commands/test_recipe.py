"""`vidact recipe validate|show` through the root app, plus one real subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vidact.schemas.load import load_recipe
from vidact.schemas.recipe import Recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
GOOD = RECIPES / "tsm_r50_kinetics400.yaml"


@pytest.fixture
def app():
    """The root app, imported per test so an import failure in cli.py fails these tests only."""
    from vidact.cli import app

    return app


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    """A recipe with two problems: one inherited from its base, one in the file itself."""
    (tmp_path / "_base").mkdir()
    shutil.copy(GOOD, tmp_path / "good.yaml")
    shutil.copytree(RECIPES / "_base", tmp_path / "_base", dirs_exist_ok=True)
    path = tmp_path / "bad.yaml"
    path.write_text("base: good.yaml\nmodel: {backbone: {type: ResNetTSN}}\ntotal_epochs: 0\n")
    return path


def test_validate_ok_files(app, runner):
    result = runner.invoke(app, ["recipe", "validate", str(GOOD), str(RECIPES / "i3d_r50_ucf101.yaml")])
    assert result.exit_code == 0, result.output
    assert f"ok {GOOD}" in result.stderr and result.stdout == ""


def test_validate_lists_every_problem_of_every_file_and_exits_2(app, runner, bad, tmp_path):
    missing = tmp_path / "missing.yaml"
    result = runner.invoke(app, ["recipe", "validate", str(bad), str(GOOD), str(missing)])
    assert result.exit_code == 2
    err = result.stderr
    assert f"invalid {bad} (2 problems)" in err
    assert "model.backbone.type: unknown 'ResNetTSN'; did you mean 'ResNetTSM'?" in err
    assert "total_epochs: must be > 0, got 0" in err
    assert f"ok {GOOD}" in err and f"{missing}: no such file" in err
    assert "error: 2 of 3 recipe files invalid" in err


def test_validate_json(app, runner, bad):
    result = runner.invoke(app, ["recipe", "validate", "--json", str(GOOD), str(bad)])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert [f["valid"] for f in report["files"]] == [True, False]
    assert report["files"][0] == {"path": str(GOOD), "valid": True, "errors": []}
    errors = report["files"][1]["errors"]
    assert {"path": "total_epochs", "message": "must be > 0, got 0", "source": None} in errors


def test_validate_applies_set(app, runner):
    result = runner.invoke(app, ["recipe", "validate", str(GOOD), "--set", "data.videos_per_gpu=0"])
    assert result.exit_code == 2
    assert "data.videos_per_gpu: must be > 0, got 0 (from --set)" in result.stderr


def test_show_prints_resolved_yaml_that_round_trips(app, runner):
    result = runner.invoke(app, ["recipe", "show", str(GOOD), "--set", "optimizer.lr=0.005"])
    assert result.exit_code == 0, result.stderr
    shown = yaml.safe_load(result.stdout)
    assert shown["optimizer"]["lr"] == 0.005
    assert shown["model"]["backbone"]["num_segments"] == 8  # defaults filled in
    assert list(shown)[:3] == ["model", "data", "optimizer"]
    assert Recipe.model_validate(shown) == load_recipe(GOOD, ["optimizer.lr=0.005"])


def test_show_json(app, runner):
    result = runner.invoke(app, ["recipe", "show", "--json", str(GOOD)])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == load_recipe(GOOD).to_plain()


def test_show_invalid_recipe_exits_2_with_all_problems(app, runner, bad):
    result = runner.invoke(app, ["recipe", "show", str(bad)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {bad}: invalid recipe (2 problems)")


def test_real_process_keeps_yaml_on_stdout_and_messages_on_stderr(bad):
    script = Path(sys.executable).with_name("vidact")  # the console script of this environment
    vidact = [str(script)] if script.exists() else [sys.executable, "-m", "vidact"]
    shown = subprocess.run([*vidact, "recipe", "show", str(GOOD)], capture_output=True, text=True)
    assert shown.returncode == 0 and shown.stderr == ""
    assert Recipe.model_validate(yaml.safe_load(shown.stdout)) == load_recipe(GOOD)
    checked = subprocess.run([*vidact, "recipe", "validate", str(GOOD), str(bad)], capture_output=True, text=True)
    assert checked.returncode == 2 and checked.stdout == ""
    assert f"ok {GOOD}" in checked.stderr and "did you mean 'ResNetTSM'?" in checked.stderr
