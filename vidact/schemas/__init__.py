"""Pydantic specs for recipes and the loader that turns YAML files into a validated `Recipe`.

`load_recipe(path, overrides)` is the entry point; `spec_names(family)` lists the component names
each registry family must provide.
"""

from typing import Any

from vidact.schemas.load import Problem, RecipeProblems, load_recipe, load_recipe_dict, recipe_problems

__all__ = [
    "FAMILIES",
    "Problem",
    "Recipe",
    "RecipeProblems",
    "load_recipe",
    "load_recipe_dict",
    "recipe_problems",
    "spec_names",
]


def __getattr__(name: str) -> Any:
    """`Recipe`, `FAMILIES` and `spec_names` on first use: building the spec models takes ~0.2 s,
    which reading a recipe file (and failing on a missing one) need not pay."""
    if name in ("FAMILIES", "Recipe", "spec_names"):
        from vidact.schemas import recipe

        return getattr(recipe, name)
    raise AttributeError(f"module 'vidact.schemas' has no attribute {name!r}")
