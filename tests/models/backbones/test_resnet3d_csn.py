"""ResNet3dCSN: depthwise middle convs ('ip' and 'ir'), temporal strides, one optimisation step."""

from __future__ import annotations

import pytest
import torch

from vidact.models.backbones import ResNet3dCSN

from .._helpers import assert_one_step_trains

SMALL = dict(pretrained=None, pretrained2d=False, base_channels=8, zero_init_residual=False)


@pytest.mark.parametrize("mode", ["ip", "ir"])
def test_output_shape_and_depthwise_middle_conv(mode: str) -> None:
    model = ResNet3dCSN(depth=50, bottleneck_mode=mode, **SMALL)
    with torch.no_grad():
        out = model(torch.randn(2, 3, 16, 32, 32))
    assert out.shape == (2, 256, 1, 1, 1)  # 16 frames: pool2 and temporal strides 2, 2, 2 -> 1
    depthwise = model.layer1[0].conv2[-1].conv
    assert depthwise.groups == depthwise.in_channels == 8 and depthwise.kernel_size == (3, 3, 3)
    keys = set(model.state_dict())
    if mode == "ip":
        assert {"layer1.0.conv2.0.weight", "layer1.0.conv2.1.conv.weight"} <= keys
    else:
        assert "layer1.0.conv2.0.conv.weight" in keys and "layer1.0.conv2.1.conv.weight" not in keys
    assert model.layer1[0].conv1.bn.eps == 1e-3


def test_one_optimisation_step() -> None:
    model = ResNet3dCSN(
        depth=50,
        num_stages=2,
        out_indices=(1,),
        spatial_strides=(1, 2),
        temporal_strides=(1, 2),
        dilations=(1, 1),
        with_pool2=False,
        **SMALL,
    )
    assert_one_step_trains(model, torch.randn(2, 3, 4, 32, 32), num_samples=2)


def test_bn_frozen_with_norm_eval() -> None:
    model = ResNet3dCSN(depth=50, norm_eval=True, bn_frozen=True, **SMALL).train()
    bn = model.layer1[0].conv1.bn
    assert not bn.training and not bn.weight.requires_grad
    assert model.layer1[0].conv1.conv.weight.requires_grad


def test_shallow_depths_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid depth 18"):
        ResNet3dCSN(depth=18, pretrained=None)
