"""`vidact checkpoint import`, `vidact.load_model` and `load_from` on MMAction-style checkpoints of the
toy TSM recipe (names made by `mmaction_names.to_mmaction_2d`, no MMAction2 needed)."""

from __future__ import annotations

import json

import pytest
import torch

import vidact
from vidact.cli import app
from vidact.engine.checkpoint import load_checkpoint
from vidact.engine.importing import build_for_weights
from vidact.engine.predict import load_model as predict_load_model
from vidact.engine.runs import _load_weights
from vidact.schemas.load import load_recipe

from mmaction_names import to_mmaction_2d

RECIPE = "recipes/toy/tsm.yaml"


@pytest.fixture(scope="module")
def weights() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = build_for_weights(load_recipe(RECIPE).model)
    return {k: torch.randn(v.shape) if v.is_floating_point() else v + 5 for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def mm_ckpt(weights, tmp_path_factory):
    path = tmp_path_factory.mktemp("mm") / "tsm_mm.pth"
    state = {to_mmaction_2d(k, tsm=True): v for k, v in weights.items()}
    torch.save({"meta": {"mmaction_version": "1.2.0", "epoch": 50}, "state_dict": state}, path)
    return path


def test_import_writes_a_vidact_checkpoint_with_every_tensor(runner, mm_ckpt, weights, tmp_path) -> None:
    out = tmp_path / "tsm.pth"
    result = runner.invoke(app, ["checkpoint", "import", str(mm_ckpt), "--recipe", RECIPE, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["per_module"] == {"backbone": len(weights) - 2, "cls_head": 2}
    assert summary["missing"] == summary["unexpected"] == []
    saved = load_checkpoint(out)
    assert saved["format"] == 1 and saved["recipe"]["model"]["backbone"]["type"] == "ResNetTSM"
    assert saved["extra"]["mmaction_meta"] == {"mmaction_version": "1.2.0", "epoch": 50}
    assert all(torch.equal(saved["state_dict"][k], v) for k, v in weights.items())
    model = vidact.load_model(RECIPE, out)  # the imported file loads as any vidact checkpoint
    assert not model.training and torch.equal(model.backbone.conv1.weight, weights["backbone.conv1.weight"])


def test_num_classes_mismatch_exits_2_with_the_fix(runner, mm_ckpt, tmp_path) -> None:
    out = tmp_path / "x.pth"
    result = runner.invoke(app, ["checkpoint", "import", str(mm_ckpt), "-r", RECIPE, "-o", str(out),
                                 "--set", "model.cls_head.num_classes=9"])
    assert result.exit_code == 2
    assert "checkpoint has 4 classes, the recipe 9" in result.stderr
    assert "--set model.cls_head.num_classes=4" in result.stderr and not out.exists()


def test_unmatched_keys_exit_2_unless_allow_partial(runner, mm_ckpt, tmp_path) -> None:
    state = torch.load(mm_ckpt, weights_only=True)["state_dict"]
    state.pop("backbone.layer1.0.conv2.bn.weight")
    partial = tmp_path / "partial.pth"
    torch.save(state, partial)  # a bare state dict
    args = ["checkpoint", "import", str(partial), "-r", RECIPE, "-o", str(tmp_path / "x.pth")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "backbone.layer1.0.bn2.weight" in result.stderr
    result = runner.invoke(app, [*args, "--allow-partial", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["missing"] == ["backbone.layer1.0.bn2.weight"]


def test_truncated_file_is_one_line_exit_2(runner, mm_ckpt, tmp_path) -> None:
    cut = tmp_path / "cut.pth"
    cut.write_bytes(mm_ckpt.read_bytes()[:2000])
    result = runner.invoke(app, ["checkpoint", "import", str(cut), "-r", RECIPE, "-o", str(tmp_path / "x.pth")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error:") and "truncated or corrupt" in result.stderr


def test_mmaction_checkpoints_load_directly(mm_ckpt, weights) -> None:
    recipe = load_recipe(RECIPE)
    model = predict_load_model(recipe, mm_ckpt)  # `vidact test` / `vidact predict`
    assert torch.equal(model.cls_head.fc_cls.weight, weights["cls_head.fc_cls.weight"])
    direct = vidact.load_model(RECIPE, mm_ckpt)
    assert all(torch.equal(a, b) for a, b in zip(direct.state_dict().values(), model.state_dict().values()))


def test_load_from_an_mmaction_checkpoint_with_other_classes(mm_ckpt, weights) -> None:
    recipe = load_recipe(RECIPE, ["model.cls_head.num_classes=7"])
    model = build_for_weights(recipe.model)
    _load_weights(model, mm_ckpt, recipe)  # `vidact train` with `load_from`: the head keeps its init
    assert torch.equal(model.backbone.layer1[0].conv1.weight, weights["backbone.layer1.0.conv1.weight"])
    assert model.cls_head.fc_cls.weight.shape[0] == 7


def test_a_recipe_without_backbone_and_head_is_refused(mm_ckpt) -> None:
    from types import SimpleNamespace

    from vidact.engine.importing import import_mmaction
    from vidact.models.convert import CheckpointImportError

    recipe = SimpleNamespace(model=SimpleNamespace(type="BMN"))
    with pytest.raises(CheckpointImportError, match="import into recognizers .* a BMN"):
        import_mmaction(mm_ckpt, recipe)
