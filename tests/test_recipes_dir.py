"""Every published recipe validates; every fragment in recipes/_base/ is used and stays shallow.

Convention: files under `recipes/_base/` are fragments (partial recipes) merged through `base:`.
They are validated only through the recipes that use them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vidact.schemas.load import close_recipe_names, load_recipe

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
FRAGMENTS_DIR = RECIPES / "_base"
FRAGMENTS = sorted(FRAGMENTS_DIR.rglob("*.yaml"))
FULL = sorted(p for p in RECIPES.rglob("*.yaml") if FRAGMENTS_DIR not in p.parents)
# Published hyper-parameters sit at the top level; `recipes/toy/` holds the CPU-sized toys.
# Short names (`recipes/tsm.yaml`, no `_` in the stem) are aliases: a `base:` over one published recipe.
ALIASES = [p for p in FULL if p.parent == RECIPES and "_" not in p.stem]
# Localization recipes (`bmn_400x100_activitynet.yaml`, ...) are named after their features, not a backbone.
PUBLISHED = [p for p in FULL if p.parent == RECIPES and p not in ALIASES
             and not p.name.startswith(("bmn_", "bsn_", "tem_", "pem_"))]


def test_there_are_recipes():
    assert len(FULL) >= 12


@pytest.mark.parametrize("path", FULL, ids=lambda p: str(p.relative_to(RECIPES)))
def test_recipe_validates_and_round_trips(path):
    recipe = load_recipe(path)
    assert type(recipe).model_validate(yaml.safe_load(recipe.to_yaml())) == recipe  # Recipe, or a BSN chain


BSN_PUBLISHED = [p for p in FULL if p.parent == RECIPES and p.stem.startswith("bsn_")]


@pytest.mark.parametrize("path", BSN_PUBLISHED, ids=lambda p: str(p.relative_to(RECIPES)))
def test_bsn_recipe_name_gives_features_scale_and_work_dir(path):
    """bsn[_tem|_pem]_{feat_dim}x{temporal_dim}_activitynet.yaml (the chain recipe without a stage)."""
    recipe = load_recipe(path)
    *_, size, dataset = path.stem.split("_")
    assert dataset == "activitynet" and recipe.work_dir == f"work_dirs/{path.stem}"
    feat_dim, temporal_dim = (int(v) for v in size.split("x"))
    tem = getattr(recipe, "tem", recipe).model
    if tem.type == "TEM":
        assert (tem.tem_feat_dim, tem.temporal_dim) == (feat_dim, temporal_dim)


@pytest.mark.parametrize("path", PUBLISHED, ids=lambda p: str(p.relative_to(RECIPES)))
def test_recipe_name_and_work_dir_follow_convention(path):
    recipe = load_recipe(path)
    model_name, backbone, rest = path.stem.split("_", 2)
    dataset = rest.split("_")[-1]  # the reference's schedule may come first: ssn_r50_450e_thumos14
    assert backbone.startswith("r") and dataset in {"kinetics400", "ucf101", "thumos14"}
    assert recipe.work_dir == f"work_dirs/{path.stem}"
    num_classes = {"kinetics400": 400, "ucf101": 101, "thumos14": 20}[dataset]
    assert recipe.model.cls_head.num_classes == num_classes


@pytest.mark.parametrize("path", FRAGMENTS, ids=lambda p: str(p.relative_to(RECIPES)))
def test_fragment_is_used_and_has_no_base(path):
    text = yaml.safe_load(path.read_text())
    assert isinstance(text, dict) and "base" not in text, "fragments stay one level deep"
    relative = str(path.relative_to(RECIPES))
    users = [p for p in FULL if relative in (yaml.safe_load(p.read_text()).get("base") or [])]
    assert users, f"{relative} is used by no recipe"


def test_the_short_names_promised_in_the_docs_exist():
    assert RECIPES / "tsm.yaml" in ALIASES


@pytest.mark.parametrize("path", ALIASES, ids=lambda p: p.name)
def test_alias_is_a_published_recipe_under_its_own_work_dir(path):
    data = yaml.safe_load(path.read_text())
    assert set(data) == {"base", "work_dir"} and data["work_dir"] == f"work_dirs/{path.stem}"
    (target,) = [data["base"]] if isinstance(data["base"], str) else data["base"]
    assert RECIPES / target in PUBLISHED and Path(target).stem.startswith(path.stem + "_")
    alias, published = load_recipe(path), load_recipe(RECIPES / target)
    assert alias.model_copy(update={"work_dir": published.work_dir}) == published


def test_a_missing_recipe_lists_close_names(tmp_path, monkeypatch):
    from vidact.errors import RecipeError
    from vidact.schemas.load import close_recipe_names

    monkeypatch.chdir(RECIPES.parent)
    assert close_recipe_names("recipes/tsn.yaml")[:2] == ["recipes/toy/tsn.yaml", "recipes/tsn_r50_ucf101.yaml"]
    assert "recipes/i3d_r50_kinetics400.yaml" in close_recipe_names("recipes/i3d.yaml")
    assert close_recipe_names("recipes/toy/tsx.yaml") == ["recipes/toy/tsm.yaml", "recipes/toy/tsn.yaml"]
    assert close_recipe_names("recipes/zzzz.yaml") == [] and close_recipe_names("nowhere/a.yaml") == []
    assert not any("_base" in name for name in close_recipe_names("recipes/kinetics400_video.yaml"))
    with pytest.raises(RecipeError) as info:
        load_recipe("recipes/tsn.yaml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("recipes/tsn.yaml: no such file; did you mean ")


@pytest.mark.parametrize("command", [["train"], ["recipe", "show"]])
def test_cli_missing_recipe_is_one_line_with_close_names_exit_2(runner, monkeypatch, command):
    from vidact.cli import app

    monkeypatch.chdir(RECIPES.parent)
    result = runner.invoke(app, [*command, "recipes/tsn.yaml"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    close = close_recipe_names("recipes/tsn.yaml")
    assert close[:3] == ["recipes/toy/tsn.yaml", "recipes/tsn_r50_ucf101.yaml", "recipes/tsn_r50_kinetics400.yaml"]
    assert lines[0] == f"error: recipes/tsn.yaml: no such file; did you mean {', '.join(close)}?"
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint:"))
