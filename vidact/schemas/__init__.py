"""Pydantic specs for recipes and the loader that turns YAML files into a validated `Recipe`.

`load_recipe(path, overrides)` is the entry point; `spec_names(family)` lists the component names
each registry family must provide.
"""

from vidact.schemas.load import Problem, RecipeProblems, load_recipe, load_recipe_dict, recipe_problems
from vidact.schemas.recipe import FAMILIES, Recipe, spec_names

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
