"""2D ResNet: shapes, ImageNet key layout, pretrained loading with reports, freezing, checkpointing."""

from __future__ import annotations

import logging
import re

import pytest
import torch

from vidact.errors import CheckpointError
from vidact.models.backbones import ResNet
from vidact.models.backbones.resnet import mmaction_resnet_keys

from .._helpers import assert_one_step_trains, imagenet_resnet_keys


@pytest.mark.parametrize(("depth", "channels"), [(18, 512), (34, 512), (50, 2048)])
def test_output_shape(depth: int, channels: int) -> None:
    model = ResNet(depth=depth)
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, channels, 2, 2)
    assert model.feat_dim == channels


def test_several_out_indices_give_a_tuple() -> None:
    model = ResNet(depth=18, out_indices=(0, 2, 3))
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 64, 16, 16), (1, 256, 4, 4), (1, 512, 2, 2)]


def test_one_optimisation_step() -> None:
    assert_one_step_trains(ResNet(depth=18), torch.randn(2 * 4, 3, 32, 32), num_samples=2)


@pytest.mark.parametrize("depth", [18, 50])
def test_state_dict_keys_follow_the_imagenet_layout(depth: int) -> None:
    expected = imagenet_resnet_keys(depth) - {"fc.weight", "fc.bias"}
    assert set(ResNet(depth=depth).state_dict()) == expected


def test_imagenet_checkpoint_round_trips_and_reports_the_classifier(tmp_path, caplog) -> None:
    source = ResNet(depth=18)
    with torch.no_grad():
        for p in source.parameters():
            p.add_(torch.randn_like(p))
    state = {**source.state_dict(), "fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)}
    path = tmp_path / "resnet18.pth"
    torch.save({"state_dict": state}, path)

    with caplog.at_level(logging.INFO, logger="vidact"):
        loaded = ResNet(depth=18, pretrained=str(path))
    for key, value in source.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, msg=key)
    assert loaded.load_report.unexpected == ("fc.weight", "fc.bias")
    assert not loaded.load_report.missing and not loaded.load_report.mismatched
    assert "unexpected in file (2): fc.weight, fc.bias" in caplog.text


def test_partial_checkpoint_logs_missing_unexpected_and_mismatched(tmp_path, caplog) -> None:
    state = ResNet(depth=18).state_dict()
    state.pop("layer4.1.bn2.weight")
    state["layer1.0.conv1.weight"] = torch.zeros(64, 64, 1, 1)
    state["extra.weight"] = torch.zeros(3)
    path = tmp_path / "partial.pth"
    torch.save(state, path)

    with caplog.at_level(logging.WARNING, logger="vidact"):
        model = ResNet(depth=18, pretrained=str(path))
    report = model.load_report
    assert report.missing == ("layer4.1.bn2.weight",)
    assert report.unexpected == ("extra.weight",)
    assert report.mismatched == (("layer1.0.conv1.weight", (64, 64, 1, 1), (64, 64, 3, 3)),)
    assert not report.clean
    for text in ("missing in file (1)", "unexpected in file (1)", "shape mismatch, skipped (1)", str(path)):
        assert text in caplog.text


def _mmaction_key(key: str) -> str:
    """The MMAction-layout name of an ImageNet-layout key (ConvModule `conv`/`bn` children)."""
    key = key.replace("downsample.0.", "downsample.conv.").replace("downsample.1.", "downsample.bn.")
    key = re.sub(r"(^|\.)conv(\d)\.weight$", r"\1conv\2.conv.weight", key)
    return re.sub(r"(^|\.)bn(\d)\.", r"\1conv\2.bn.", key)


def test_mmaction_layout_checkpoint_loads_when_not_torchvision(tmp_path) -> None:
    source = ResNet(depth=18)
    with torch.no_grad():
        source.layer1[0].conv1.weight.add_(1.0)
    renamed = {f"backbone.{_mmaction_key(k)}": v for k, v in source.state_dict().items()}
    # a TSM checkpoint wraps the shifted conv: layer1.0.conv1.net.conv.weight
    renamed["backbone.layer1.0.conv1.net.conv.weight"] = renamed.pop("backbone.layer1.0.conv1.conv.weight")
    renamed["cls_head.fc_cls.weight"] = torch.zeros(5, 512)
    path = tmp_path / "tsn_mmaction.pth"
    torch.save({"state_dict": renamed}, path)

    model = ResNet(depth=18, pretrained=str(path), torchvision_pretrain=False)
    assert model.load_report.clean
    for key, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, msg=key)
    assert mmaction_resnet_keys({"conv1.bn.weight": torch.ones(1)}).keys() == {"bn1.weight"}


def test_missing_pretrained_file_is_a_checkpoint_error(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        ResNet(depth=18, pretrained=str(tmp_path / "nope.pth"))


def test_frozen_stages_and_norm_eval() -> None:
    model = ResNet(depth=18, frozen_stages=1, norm_eval=True).train()
    assert not any(p.requires_grad for p in (*model.conv1.parameters(), *model.layer1.parameters()))
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert not any(m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert model.layer2.training


def test_partial_bn_freezes_every_bn_but_the_first() -> None:
    model = ResNet(depth=18, partial_bn=True).train()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns[0] is model.bn1 and bns[0].training and bns[0].weight.requires_grad
    assert not any(m.training or m.weight.requires_grad or m.bias.requires_grad for m in bns[1:])


def test_with_cp_gives_the_same_output_and_gradients() -> None:
    plain = ResNet(depth=18)
    checkpointed = ResNet(depth=18, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    outs, grads = [], []
    for model in (plain, checkpointed):
        out = model(x)
        out.sum().backward()
        outs.append(out)
        grads.append(model.conv1.weight.grad)
    torch.testing.assert_close(outs[0], outs[1])
    torch.testing.assert_close(grads[0], grads[1])


def test_channels_last_input_gives_the_same_result() -> None:
    model = ResNet(depth=18).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x.to(memory_format=torch.channels_last)), model(x))


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid depth"):
        ResNet(depth=20)
    with pytest.raises(ValueError, match="out_indices"):
        ResNet(depth=18, num_stages=2, strides=(1, 2), dilations=(1, 1))
    with pytest.raises(ValueError, match="Conv or Conv2d"):
        ResNet(depth=18, conv_cfg={"type": "Conv3d"})
