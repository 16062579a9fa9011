"""load_recipe: base merging, --set overrides, and errors that point at the right key and file."""

from __future__ import annotations

import pytest

from vidact.errors import RecipeError
from vidact.schemas.load import (
    Problem,
    RecipeProblems,
    format_path,
    load_recipe,
    load_recipe_dict,
    recipe_problems,
)
from vidact.schemas.recipe import Recipe


def problems_of(path, overrides=()) -> list[str]:
    with pytest.raises(RecipeProblems) as info:
        load_recipe(path, overrides)
    return [str(p) for p in info.value.problems]


# ---- merging -----------------------------------------------------------------------------------


def test_minimal_recipe_loads(write, minimal):
    recipe = load_recipe(write("r.yaml", minimal))
    assert isinstance(recipe, Recipe)
    assert recipe.data.train.pipeline[3].crop_size == 224
    assert recipe.model.backbone.num_segments == 8  # default filled in


def test_base_dicts_merge_recursively_lists_and_scalars_replace(write, minimal):
    write("_base/b.yaml", minimal)
    path = write(
        "r.yaml",
        """
        base: _base/b.yaml
        optimizer: {lr: 0.5}
        data:
          train:
            pipeline: [{type: PyAVInit}]
        """,
    )
    merged = load_recipe_dict(path)
    assert merged["optimizer"] == {"type": "SGD", "lr": 0.5, "momentum": 0.9}
    assert merged["data"]["train"]["pipeline"] == [{"type": "PyAVInit"}]
    assert merged["data"]["train"]["ann_file"] == "train.txt"
    assert "base" not in merged


def test_bases_apply_in_order_then_the_file(write, minimal):
    write("one.yaml", {"seed": 1, "total_epochs": 10})
    write("two.yaml", {"seed": 2})
    del minimal["total_epochs"]
    path = write("r.yaml", {"base": ["one.yaml", "two.yaml"], **minimal})
    recipe = load_recipe(path)
    assert recipe.seed == 2 and recipe.total_epochs == 10


def test_nested_bases_resolve_relative_to_the_including_file(write, minimal):
    write("deep/inner/grand.yaml", {"seed": 7, "work_dir": "from_grand"})
    write("deep/parent.yaml", {"base": "inner/grand.yaml", "work_dir": "from_parent"})
    path = write("r.yaml", {"base": "deep/parent.yaml", **minimal})
    recipe = load_recipe(path)
    assert recipe.seed == 7 and recipe.work_dir == "from_parent"


def test_base_cycle_is_an_error(write):
    write("a.yaml", "base: b.yaml\n")
    write("b.yaml", "base: [a.yaml]\n")
    with pytest.raises(RecipeError, match=r"base files include each other: a.yaml -> b.yaml -> a.yaml"):
        load_recipe_dict(write("a.yaml", "base: b.yaml\n"))


def test_missing_base_names_the_file(write, tmp_path):
    path = write("r.yaml", "base: _base/nope.yaml\n")
    with pytest.raises(RecipeError, match=r"r.yaml: base file not found: .*_base/nope.yaml"):
        load_recipe_dict(path)


def test_yaml_aliases_are_independent_copies(write, minimal):
    path = write(
        "r.yaml",
        """
        data:
          train: {type: VideoDataset, ann_file: a, pipeline: &p [{type: CenterCrop, crop_size: 224}]}
          val: {type: VideoDataset, ann_file: b, pipeline: *p}
        """,
    )
    merged = load_recipe_dict(path, ["data.val.pipeline[0].crop_size=256"])
    assert merged["data"]["train"]["pipeline"][0]["crop_size"] == 224


# ---- --set -------------------------------------------------------------------------------------


def test_set_parses_yaml_values_and_indices(write, minimal):
    path = write("r.yaml", minimal)
    recipe = load_recipe(
        path,
        [
            "optimizer.lr=0.001",
            "data.train.pipeline[3].crop_size=[256, 320]",
            "data.train.pipeline[-1].lazy=true",
            "seed=null",
            "work_dir=out/run1",
            "model.test_cfg.average_clips=prob",
        ],
    )
    assert recipe.optimizer.lr == 0.001
    assert recipe.data.train.pipeline[3].crop_size == (256, 320)
    assert recipe.data.train.pipeline[3].lazy is True
    assert recipe.seed is None and recipe.work_dir == "out/run1"
    assert recipe.model.test_cfg.average_clips == "prob"


def test_set_creates_missing_mapping_keys(write, minimal):
    path = write("r.yaml", minimal)
    recipe = load_recipe(path, ["optimizer_config.grad_clip.max_norm=40", "data.val_dataloader.videos_per_gpu=1"])
    assert recipe.optimizer_config.grad_clip.max_norm == 40
    assert recipe.data.val_dataloader.videos_per_gpu == 1


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optimizer.lr", "expected KEY.PATH=VALUE"),
        ("a..b=1", "bad key path 'a..b'"),
        ("data.train.pipeline[9].crop_size=1", "index 9 is out of range: data.train.pipeline has 4 items"),
        ("data.train.pipeline.crop_size=1", "index it like data.train.pipeline[0]"),
        ("optimizer.lr.x=1", "optimizer.lr is a number (0.01), not a mapping"),
        ("total_epochs[0]=1", "total_epochs is a number (2), not a list"),
        ("seed=[1, 2", "value is not valid YAML"),
        ("base=other.yaml", "'base' is merged before --set applies"),
    ],
)
def test_bad_set_is_one_clear_line(write, minimal, override, message):
    with pytest.raises(RecipeError) as info:
        load_recipe(write("r.yaml", minimal), [override])
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"--set {override}: ") and message in text


def test_several_bad_sets_are_reported_together(write, minimal):
    with pytest.raises(RecipeProblems, match=r"invalid --set options \(2 problems\)") as info:
        load_recipe(write("r.yaml", minimal), ["nope", "optimizer.lr=0.1", "x[0]=1"])
    assert [p.message.split(":")[0] for p in info.value.problems] == ["--set nope", "--set x[0]=1"]


# ---- validation messages -----------------------------------------------------------------------


def test_all_problems_are_reported_at_once_with_yaml_paths(write, minimal):
    minimal["data"]["train"]["pipeline"][3]["crop_size"] = "224px"
    minimal["model"]["backbone"]["type"] = "ResNetTSN"
    path = write("tsm.yaml", minimal)
    with pytest.raises(RecipeProblems) as info:
        load_recipe(path)
    assert str(info.value) == (
        f"{path}: invalid recipe (2 problems)\n"
        "  model.backbone.type: unknown 'ResNetTSN'; did you mean 'ResNetTSM'?\n"
        "  data.train.pipeline[3].crop_size: expected an int or [w, h], got '224px'"
    )


def test_unknown_key_suggests_or_lists_known_keys(write, minimal):
    minimal["data"]["train"]["pipeline"][3]["cropsize"] = 224
    minimal["optimizer"]["zzz"] = 1
    problems = problems_of(write("r.yaml", minimal))
    assert "data.train.pipeline[3].cropsize: unknown key 'cropsize'; did you mean 'crop_size'?" in problems
    zzz = next(p for p in problems if p.startswith("optimizer.zzz"))
    assert "known keys: type, lr, weight_decay" in zzz


def test_unknown_type_without_close_match_lists_known(write, minimal):
    minimal["data"]["train"]["pipeline"][0] = {"type": "GaussianBlur"}
    (problem,) = problems_of(write("r.yaml", minimal))
    assert problem.startswith("data.train.pipeline[0].type: unknown 'GaussianBlur'; known: CenterCrop, Collect")


def test_missing_keys_and_missing_type(write, minimal):
    del minimal["total_epochs"]
    del minimal["model"]["cls_head"]["num_classes"]
    minimal["data"]["val"] = {"ann_file": "val.txt"}
    problems = problems_of(write("r.yaml", minimal))
    assert set(problems) == {
        "total_epochs: missing required key",
        "model.cls_head.num_classes: missing required key",
        "data.val.type: missing required key",
    }


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        (("data", "train", "pipeline", 1, "out_of_bound_opt"), "lop",
         "expected 'loop' or 'repeat_last', got 'lop'; did you mean 'loop'?"),
        (("data", "train", "pipeline", 1, "num_clips"), "eight", "expected an integer, got 'eight'"),
        (("data", "train", "pipeline", 1, "num_clips"), 0, "must be > 0, got 0"),
        (("data", "train", "pipeline", 1, "test_mode"), "maybe", "expected true or false, got 'maybe'"),
        (("data", "train", "pipeline"), {"type": "PyAVInit"}, "expected a list, got a mapping"),
        (("data", "train", "pipeline", 0), "PyAVInit", "expected a mapping, got 'PyAVInit'"),
        (("model", "backbone", "pretrained"), "torchvision://resnet50", "expected a local file path"),
        (("optimizer", "lr"), "fast", "expected a number, got 'fast'"),
    ],
)
def test_messages_are_human(write, minimal, where, value, message):
    node = minimal
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    (problem,) = problems_of(write("r.yaml", minimal))
    assert problem == f"{format_path(where)}: {message}" or problem.startswith(f"{format_path(where)}: {message}")


def test_model_level_checks_read_plainly(write, minimal):
    minimal["model"]["cls_head"]["num_segments"] = 16
    minimal["lr_config"] = {"policy": "CosineAnnealing"}
    problems = problems_of(write("r.yaml", minimal))
    assert problems == [
        "model: cls_head.num_segments (16) differs from backbone.num_segments (8)",
        "lr_config: set exactly one of min_lr and min_lr_ratio",
    ]


def test_inherited_problem_names_its_base_file(write, minimal):
    minimal["data"]["train"]["pipeline"][3]["crop_size"] = "224px"
    write("_base/data.yaml", {"data": minimal.pop("data")})
    path = write("r.yaml", {"base": "_base/data.yaml", **minimal, "optimizer": {"type": "SGD", "lr": -1}})
    problems = problems_of(path)
    base = str(path.parent / "_base" / "data.yaml")
    assert f"data.train.pipeline[3].crop_size: expected an int or [w, h], got '224px' (from {base})" in problems
    assert "optimizer.lr: must be > 0, got -1" in problems  # the recipe's own key: no source


def test_override_replacing_a_base_value_takes_the_blame(write, minimal):
    write("_base/b.yaml", minimal)
    path = write("r.yaml", "base: _base/b.yaml\n")
    problems = problems_of(path, ["data.train.pipeline[3].crop_size=huge"])
    assert problems == ["data.train.pipeline[3].crop_size: expected an int or [w, h], got 'huge' (from --set)"]


def test_top_level_mmaction_habits_get_hints(write, minimal):
    problems = problems_of(write("r.yaml", {**minimal, "fp16": {"loss_scale": 512}, "test_cfg": {}}))
    assert any("fp16" in p and "'amp' section" in p for p in problems)
    assert any("test_cfg" in p and "model.test_cfg" in p for p in problems)


# ---- file-level errors -------------------------------------------------------------------------


def test_yaml_syntax_error_names_line_and_column(write):
    path = write("bad.yaml", "model:\n  type: Recognizer2D\n   backbone: x\n")
    with pytest.raises(RecipeError, match=rf"^{path}:3:\d+: invalid YAML: mapping values are not allowed"):
        load_recipe(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [("- a\n- b\n", "expected a mapping of recipe sections at the top level, got a list"),
     ("base: 3\n", "'base' must be a path or a list of paths, got 3")],
)
def test_file_shape_errors_are_one_line(write, content, message):
    path = write("r.yaml", content)
    with pytest.raises(RecipeError, match=message) as info:
        load_recipe(path)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(RecipeError, match=r"nope.yaml: no such file"):
        load_recipe(tmp_path / "nope.yaml")


def test_recipe_problems_returns_instead_of_raising(write, minimal, tmp_path):
    assert recipe_problems(write("ok.yaml", minimal)) == []
    missing = tmp_path / "missing.yaml"
    assert recipe_problems(missing) == [Problem("", f"{missing}: no such file")]
    minimal["total_epochs"] = "many"
    (problem,) = recipe_problems(write("bad.yaml", minimal))
    assert (problem.path, problem.source) == ("total_epochs", None)


def test_format_path():
    assert format_path(("data", "train", "pipeline", 3, "crop_size")) == "data.train.pipeline[3].crop_size"
    assert format_path(("model",)) == "model" and format_path(()) == ""
