"""Every published recipe validates; every fragment in recipes/_base/ is used and stays shallow.

Convention: files under `recipes/_base/` are fragments (partial recipes) merged through `base:`.
They are validated only through the recipes that use them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vidact.schemas.load import load_recipe
from vidact.schemas.recipe import Recipe

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
FRAGMENTS_DIR = RECIPES / "_base"
FRAGMENTS = sorted(FRAGMENTS_DIR.rglob("*.yaml"))
FULL = sorted(p for p in RECIPES.rglob("*.yaml") if FRAGMENTS_DIR not in p.parents)
# Published hyper-parameters sit at the top level; `recipes/toy/` holds the CPU-sized toys.
# Localization recipes (`bmn_400x100_activitynet.yaml`, ...) are named after their features, not a backbone.
PUBLISHED = [p for p in FULL if p.parent == RECIPES and not p.name.startswith(("bmn_", "bsn_", "tem_", "pem_"))]


def test_there_are_recipes():
    assert len(FULL) >= 12


@pytest.mark.parametrize("path", FULL, ids=lambda p: str(p.relative_to(RECIPES)))
def test_recipe_validates_and_round_trips(path):
    recipe = load_recipe(path)
    assert Recipe.model_validate(yaml.safe_load(recipe.to_yaml())) == recipe


@pytest.mark.parametrize("path", PUBLISHED, ids=lambda p: str(p.relative_to(RECIPES)))
def test_recipe_name_and_work_dir_follow_convention(path):
    recipe = load_recipe(path)
    model_name, backbone, dataset = path.stem.split("_", 2)
    assert backbone.startswith("r") and dataset in {"kinetics400", "ucf101"}
    assert recipe.work_dir == f"work_dirs/{path.stem}"
    num_classes = {"kinetics400": 400, "ucf101": 101}[dataset]
    assert recipe.model.cls_head.num_classes == num_classes


@pytest.mark.parametrize("path", FRAGMENTS, ids=lambda p: str(p.relative_to(RECIPES)))
def test_fragment_is_used_and_has_no_base(path):
    text = yaml.safe_load(path.read_text())
    assert isinstance(text, dict) and "base" not in text, "fragments stay one level deep"
    relative = str(path.relative_to(RECIPES))
    users = [p for p in FULL if relative in (yaml.safe_load(p.read_text()).get("base") or [])]
    assert users, f"{relative} is used by no recipe"
