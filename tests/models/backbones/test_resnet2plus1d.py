"""ResNet2Plus1d: (2+1)D convs everywhere, no pool2, shape and one optimisation step."""

from __future__ import annotations

import pytest
import torch

from vidact.models.backbones import ResNet2Plus1d
from vidact.models.common import Conv2plus1d

from .._helpers import assert_one_step_trains

R2PLUS1D = dict(
    pretrained=None,
    pretrained2d=False,
    conv_cfg={"type": "Conv2plus1d"},
    base_channels=8,
    conv1_kernel=(3, 7, 7),
    conv1_stride_t=1,
    pool1_stride_t=1,
    temporal_strides=(1, 2, 2, 2),
    zero_init_residual=False,
)


def test_output_shape_keeps_time_without_pool2() -> None:
    model = ResNet2Plus1d(depth=18, **R2PLUS1D)
    with torch.no_grad():
        out = model(torch.randn(2, 3, 8, 32, 32))
    assert out.shape == (2, 64, 1, 1, 1)  # 8 frames, temporal strides 2, 2, 2 -> 1; no pool2
    assert isinstance(model.layer1[0].conv1.conv, Conv2plus1d)
    assert "layer1.0.conv1.conv.conv_s.weight" in model.state_dict()


def test_one_optimisation_step() -> None:
    # a 2x2x2 final map: with 1x1x1 per sample, train-mode BN over a batch of 2 is nearly a sign function
    model = ResNet2Plus1d(depth=18, **{**R2PLUS1D, "temporal_strides": (1, 1, 2, 2)})
    assert_one_step_trains(model, torch.randn(2, 3, 8, 64, 64), num_samples=2)


def test_mid_channels_match_a_full_3d_conv_budget() -> None:
    # R(2+1)D's 64 -> 64, 3x3x3 conv: floor(3*3*3*64*64 / (3*3*64 + 3*64)) = 144
    conv = Conv2plus1d(64, 64, (3, 3, 3), padding=1)
    assert conv.conv_s.out_channels == 144
    assert conv(torch.randn(1, 64, 4, 6, 6)).shape == (1, 64, 4, 6, 6)


def test_needs_2plus1d_convs_and_no_inflation() -> None:
    with pytest.raises(ValueError, match="pretrained2d=False"):
        ResNet2Plus1d(depth=18, pretrained=None)
    with pytest.raises(ValueError, match="Conv2plus1d"):
        ResNet2Plus1d(depth=18, pretrained=None, pretrained2d=False)
