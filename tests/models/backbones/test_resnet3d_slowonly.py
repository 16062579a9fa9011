"""ResNet3dSlowOnly: time kept (no temporal strides, no pool2), one optimisation step."""

from __future__ import annotations

import pytest
import torch

from vidact.models.backbones import ResNet3dSlowOnly

from .._helpers import assert_one_step_trains


def test_output_shape_keeps_every_frame() -> None:
    model = ResNet3dSlowOnly(depth=50, pretrained=None, base_channels=8)
    with torch.no_grad():
        assert model(torch.randn(2, 3, 4, 32, 32)).shape == (2, 256, 4, 1, 1)
    assert model.conv1.conv.kernel_size == (1, 7, 7)
    assert [b.conv1.conv.kernel_size[0] for b in model.layer2] == [1] * 4
    assert [b.conv1.conv.kernel_size[0] for b in model.layer3] == [3] * 6


def test_one_optimisation_step() -> None:
    model = ResNet3dSlowOnly(depth=18, pretrained=None, base_channels=8, zero_init_residual=False)
    assert_one_step_trains(model, torch.randn(2, 3, 4, 32, 32), num_samples=2)


def test_lateral_is_refused() -> None:
    with pytest.raises(ValueError, match="lateral must be False"):
        ResNet3dSlowOnly(depth=18, pretrained=None, lateral=True)
