"""MMAction -> vidact key mapping: a hand-written table of MMAction2 1.2.0 names per family, the
2D ResNet renaming against an obviously-correct inverse, and the import checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidact.engine.importing import build_for_weights
from vidact.models.convert import (
    BACKBONE_RULES,
    FAMILIES,
    CheckpointImportError,
    PickledObject,
    map_state_dict,
    mmaction_to_vidact,
    plain_meta,
    read_checkpoint_file,
)
from vidact.schemas.load import load_recipe

from mmaction_names import to_mmaction_2d

CSN_R152 = {
    "type": "Recognizer3D",
    "backbone": {"type": "ResNet3dCSN", "pretrained": None, "depth": 152, "with_pool2": False,
                 "bottleneck_mode": "ir", "norm_eval": False, "zero_init_residual": False},
    "cls_head": {"type": "I3DHead", "num_classes": 400, "in_channels": 2048},
}
MODELS = {
    "TSN": "recipes/tsn_r50_kinetics400.yaml",
    "TSM": "recipes/tsm_r50_kinetics400.yaml",
    "I3D": "recipes/i3d_r50_kinetics400.yaml",
    "R(2+1)D": "recipes/r2plus1d_r34_kinetics400.yaml",
    "SlowOnly": "recipes/slowonly_r50_kinetics400.yaml",
    "SlowFast": "recipes/slowfast_r50_kinetics400.yaml",
    "CSN": CSN_R152,
}

# (MMAction2 1.2.0 key, its shape, vidact key) as MMAction2 builds the models of its
# configs/_base_/models/{tsn_r50,tsm_r50,i3d_r50,r2plus1d_r34,slowonly_r50,slowfast_r50,ircsn_r152}.py
TABLE: dict[str, list[tuple[str, tuple[int, ...], str]]] = {
    "TSN": [
        ("backbone.conv1.conv.weight", (64, 3, 7, 7), "backbone.conv1.weight"),
        ("backbone.conv1.bn.running_var", (64,), "backbone.bn1.running_var"),
        ("backbone.layer1.0.conv1.conv.weight", (64, 64, 1, 1), "backbone.layer1.0.conv1.weight"),
        ("backbone.layer1.0.conv2.bn.weight", (64,), "backbone.layer1.0.bn2.weight"),
        ("backbone.layer2.0.downsample.conv.weight", (512, 256, 1, 1), "backbone.layer2.0.downsample.0.weight"),
        ("backbone.layer2.0.downsample.bn.num_batches_tracked", (), "backbone.layer2.0.downsample.1.num_batches_tracked"),
        ("backbone.layer4.2.conv3.conv.weight", (2048, 512, 1, 1), "backbone.layer4.2.conv3.weight"),
        ("cls_head.fc_cls.weight", (400, 2048), "cls_head.fc_cls.weight"),
    ],
    "TSM": [
        ("backbone.conv1.conv.weight", (64, 3, 7, 7), "backbone.conv1.weight"),
        ("backbone.layer1.0.conv1.conv.net.weight", (64, 64, 1, 1), "backbone.layer1.0.conv1.weight"),
        ("backbone.layer1.0.conv1.bn.bias", (64,), "backbone.layer1.0.bn1.bias"),
        ("backbone.layer3.5.conv3.bn.running_mean", (1024,), "backbone.layer3.5.bn3.running_mean"),
        ("backbone.layer4.0.downsample.conv.weight", (2048, 1024, 1, 1), "backbone.layer4.0.downsample.0.weight"),
        ("cls_head.fc_cls.bias", (400,), "cls_head.fc_cls.bias"),
    ],
    "I3D": [
        ("backbone.conv1.conv.weight", (64, 3, 5, 7, 7), "backbone.conv1.conv.weight"),
        ("backbone.layer1.0.conv2.conv.weight", (64, 64, 1, 3, 3), "backbone.layer1.0.conv2.conv.weight"),
        ("backbone.layer1.0.downsample.bn.running_var", (256,), "backbone.layer1.0.downsample.bn.running_var"),
        ("cls_head.fc_cls.weight", (400, 2048), "cls_head.fc_cls.weight"),
    ],
    "R(2+1)D": [
        ("backbone.conv1.conv.conv_s.weight", (83, 3, 1, 7, 7), "backbone.conv1.conv.conv_s.weight"),
        ("backbone.conv1.conv.bn_s.running_mean", (83,), "backbone.conv1.conv.bn_s.running_mean"),
        ("backbone.conv1.conv.conv_t.weight", (64, 83, 3, 1, 1), "backbone.conv1.conv.conv_t.weight"),
        ("backbone.layer1.0.conv2.conv.conv_t.weight", (64, 144, 3, 1, 1), "backbone.layer1.0.conv2.conv.conv_t.weight"),
        ("backbone.layer4.0.conv2.conv.conv_t.weight", (512, 1152, 3, 1, 1), "backbone.layer4.0.conv2.conv.conv_t.weight"),
        ("cls_head.fc_cls.weight", (400, 512), "cls_head.fc_cls.weight"),
    ],
    "SlowOnly": [
        ("backbone.layer1.0.conv2.conv.weight", (64, 64, 1, 3, 3), "backbone.layer1.0.conv2.conv.weight"),
        ("backbone.layer1.0.downsample.conv.weight", (256, 64, 1, 1, 1), "backbone.layer1.0.downsample.conv.weight"),
        ("cls_head.fc_cls.weight", (400, 2048), "cls_head.fc_cls.weight"),
    ],
    "SlowFast": [
        ("backbone.slow_path.conv1_lateral.conv.weight", (16, 8, 5, 1, 1), "backbone.slow_path.conv1_lateral.conv.weight"),
        ("backbone.slow_path.layer1_lateral.conv.weight", (64, 32, 5, 1, 1), "backbone.slow_path.layer1_lateral.conv.weight"),
        ("backbone.slow_path.layer1.0.downsample.conv.weight", (256, 80, 1, 1, 1),
         "backbone.slow_path.layer1.0.downsample.conv.weight"),
        ("backbone.fast_path.conv1.conv.weight", (8, 3, 5, 7, 7), "backbone.fast_path.conv1.conv.weight"),
        ("backbone.fast_path.layer1.0.conv2.bn.running_var", (8,), "backbone.fast_path.layer1.0.conv2.bn.running_var"),
        ("cls_head.fc_cls.weight", (400, 2304), "cls_head.fc_cls.weight"),
    ],
    "CSN": [
        ("backbone.conv1.conv.weight", (64, 3, 3, 7, 7), "backbone.conv1.conv.weight"),
        ("backbone.layer1.0.conv2.0.conv.weight", (64, 1, 3, 3, 3), "backbone.layer1.0.conv2.0.conv.weight"),
        ("backbone.layer3.35.conv2.0.conv.weight", (256, 1, 3, 3, 3), "backbone.layer3.35.conv2.0.conv.weight"),
        ("cls_head.fc_cls.weight", (400, 2048), "cls_head.fc_cls.weight"),
    ],
}
# total tensors in MMAction2's state dict of each model above
TOTALS = {"TSN": 320, "TSM": 320, "I3D": 320, "R(2+1)D": 434, "SlowOnly": 320, "SlowFast": 642, "CSN": 932}


def _meta_model(family: str) -> torch.nn.Module:
    spec = MODELS[family]
    spec = load_recipe(spec).model if isinstance(spec, str) else spec
    with torch.device("meta"):  # shapes only: no memory, no init time
        return build_for_weights(spec)


@pytest.mark.parametrize("family", sorted(TABLE))
def test_mmaction_names_map_onto_our_modules(family: str) -> None:
    model = _meta_model(family)
    own = model.state_dict()
    assert len(own) == TOTALS[family]
    backbone_type, head_type = FAMILIES[family]
    assert model.backbone.__class__.__name__ == backbone_type
    assert model.cls_head.__class__.__name__ == head_type
    names = [mm for mm, _, _ in TABLE[family]]
    renamed = mmaction_to_vidact({k: torch.empty(0) for k in names}, backbone_type, head_type)
    for (mm, shape, ours), got in zip(TABLE[family], renamed):
        assert got == ours, mm
        assert tuple(own[ours].shape) == shape, ours


@pytest.mark.parametrize("family", ["TSN", "TSM"])
def test_every_2d_key_round_trips_with_its_tensor(family: str) -> None:
    recipe = load_recipe(f"recipes/toy/{family.lower()}.yaml")
    model = build_for_weights(recipe.model)
    torch.manual_seed(0)
    ours = {k: torch.randn(v.shape) if v.is_floating_point() else v + 3 for k, v in model.state_dict().items()}
    theirs = {to_mmaction_2d(k, family == "TSM"): v for k, v in ours.items()}
    assert set(theirs).isdisjoint(ours.keys() - {"cls_head.fc_cls.weight", "cls_head.fc_cls.bias"})
    tensors, report = map_state_dict(theirs, model, backbone_type=recipe.model.backbone.type,
                                     head_type=recipe.model.cls_head.type, source="x.pth")
    assert report.complete and report.counts() == {"backbone": len(ours) - 2, "cls_head": 2}
    assert tensors.keys() == ours.keys()
    assert all(torch.equal(tensors[k], ours[k]) for k in ours)


def test_every_backbone_type_has_a_rule_table() -> None:
    from vidact.models.registry import BACKBONES

    assert set(BACKBONE_RULES) == set(BACKBONES.names())


def _toy(family: str = "tsm"):
    recipe = load_recipe(f"recipes/toy/{family}.yaml")
    return recipe, build_for_weights(recipe.model)


def test_num_classes_mismatch_names_both_numbers_and_the_fix() -> None:
    recipe, model = _toy()
    state = dict(model.state_dict())
    state["cls_head.fc_cls.weight"] = torch.zeros(7, state["cls_head.fc_cls.weight"].shape[1])
    state["cls_head.fc_cls.bias"] = torch.zeros(7)
    with pytest.raises(CheckpointImportError, match="7 classes, the recipe 4") as info:
        map_state_dict(state, model, backbone_type="ResNetTSM", head_type="TSMHead", source="x.pth")
    assert info.value.hint == "add --set model.cls_head.num_classes=7"
    assert info.value.exit_code == 2


def test_unmatched_keys_are_listed_unless_partial() -> None:
    _, model = _toy()
    state = dict(model.state_dict())
    del state["backbone.layer1.0.conv1.weight"]
    state["backbone.extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointImportError, match=r"missing in checkpoint \(1\): backbone.layer1.0.conv1.weight"
                       r"; not in the model \(1\): backbone.extra.weight"):
        map_state_dict(state, model, backbone_type="ResNetTSM", head_type="TSMHead", source="x.pth")
    tensors, report = map_state_dict(state, model, backbone_type="ResNetTSM", head_type="TSMHead", source="x.pth",
                                     allow_partial=True)
    assert report.missing == ("backbone.layer1.0.conv1.weight",) and report.unexpected == ("backbone.extra.weight",)
    assert "backbone.extra.weight" not in tensors


def test_another_architecture_is_refused() -> None:
    _, model = _toy()
    _, other = _toy("tsn")  # same names
    with pytest.raises(CheckpointImportError, match="no key matches"):
        map_state_dict({"fc.weight": torch.zeros(2)}, model, backbone_type="ResNetTSM", head_type="TSMHead",
                       source="x.pth")
    state = {k: v.unsqueeze(-1) if v.ndim == 4 else v for k, v in other.state_dict().items()}
    with pytest.raises(CheckpointImportError, match="shape"):
        map_state_dict(state, model, backbone_type="ResNetTSM", head_type="TSMHead", source="x.pth")


def test_data_preprocessor_buffers_are_ignored_not_unmatched() -> None:
    _, model = _toy()
    state = dict(model.state_dict()) | {"data_preprocessor.mean": torch.zeros(3, 1, 1)}
    _, report = map_state_dict(state, model, backbone_type="ResNetTSM", head_type="TSMHead", source="x.pth")
    assert report.complete and report.ignored == ("data_preprocessor.mean",)


RAN: list[str] = []


def _mark(*args) -> None:
    RAN.append("ran")


class _Meta:  # a pickled object, as MMAction2 1.x puts in `message_hub`; unpickling it would call _mark
    def __reduce__(self):
        return (_mark, ("pickled code",))


def test_pickled_objects_are_read_as_inert_placeholders(tmp_path, caplog) -> None:
    obj = tmp_path / "obj.pth"
    torch.save({"state_dict": {"a": torch.ones(2)}, "meta": {"seed": np.int64(5), "hub": _Meta()}}, obj)
    data = read_checkpoint_file(obj)
    assert RAN == []
    assert torch.equal(data["state_dict"]["a"], torch.ones(2))
    assert isinstance(data["meta"]["hub"], PickledObject) and data["meta"]["hub"].qualname.endswith("_mark")
    assert "not run" in caplog.text and "_mark" in caplog.text
    assert plain_meta(data) == {}  # placeholders are not provenance


def test_truncated_and_missing_files_are_refused(tmp_path) -> None:
    good = tmp_path / "good.pth"
    torch.save({"state_dict": {"a": torch.zeros(1000)}}, good)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(CheckpointImportError, match="truncated or corrupt"):
        read_checkpoint_file(cut)
    with pytest.raises(CheckpointImportError, match="no such checkpoint"):
        read_checkpoint_file(tmp_path / "none.pth")
