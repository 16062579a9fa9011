"""ResNet3dSlowFast: frame sampling of each pathway, lateral connections, shapes, one step."""

from __future__ import annotations

import pytest
import torch

from vidact.models.backbones import ResNet3dPathway, ResNet3dSlowFast

from .._helpers import assert_one_step_trains

PATHWAY = dict(depth=18, pretrained=None, conv1_stride_t=1, pool1_stride_t=1, zero_init_residual=False)


def _slowfast(**kwargs: object) -> ResNet3dSlowFast:
    slow = ResNet3dPathway(
        lateral=True,
        speed_ratio=4,
        channel_ratio=4,
        base_channels=16,
        conv1_kernel=(1, 7, 7),
        inflate=(0, 0, 1, 1),
        **PATHWAY,
    )
    fast = ResNet3dPathway(lateral=False, base_channels=4, conv1_kernel=(5, 7, 7), **PATHWAY)
    return ResNet3dSlowFast(
        pretrained=None,
        resample_rate=4,
        speed_ratio=4,
        channel_ratio=4,
        slow_pathway=slow,
        fast_pathway=fast,
        **kwargs,
    )


def test_output_shapes() -> None:
    model = _slowfast()
    with torch.no_grad():
        x_slow, x_fast = model(torch.randn(2, 3, 16, 32, 32))
    assert x_slow.shape == (2, 128, 4, 1, 1)  # every 4th frame
    assert x_fast.shape == (2, 32, 16, 1, 1)  # every frame


def test_laterals_feed_the_slow_pathway() -> None:
    model = _slowfast()
    slow = model.slow_path
    assert slow.lateral_connections == ["layer1_lateral", "layer2_lateral", "layer3_lateral"]
    assert slow.conv1_lateral.conv.weight.shape == (8, 4, 5, 1, 1)  # 16/4 fast channels -> 2*16/4
    assert slow.layer2[0].conv1.conv.in_channels == 16 + 2 * 16 // 4
    assert slow.layer2[0].downsample.conv.in_channels == 16 + 2 * 16 // 4


def test_each_pathway_sees_its_frame_rate() -> None:
    model = _slowfast().eval()
    seen = {}
    model.slow_path.conv1.register_forward_pre_hook(lambda m, args: seen.setdefault("slow", args[0]))
    model.fast_path.conv1.register_forward_pre_hook(lambda m, args: seen.setdefault("fast", args[0]))
    x = torch.randn(1, 3, 16, 32, 32)
    with torch.no_grad():
        model(x)
    torch.testing.assert_close(seen["slow"], x[:, :, ::4])
    torch.testing.assert_close(seen["fast"], x)


def test_one_optimisation_step() -> None:
    assert_one_step_trains(_slowfast(), torch.randn(2, 3, 16, 32, 32), num_samples=2)


def test_ratios_must_agree_with_the_slow_laterals() -> None:
    slow = ResNet3dPathway(lateral=True, speed_ratio=8, channel_ratio=8, **PATHWAY)
    with pytest.raises(ValueError, match="speed_ratio=8"):
        ResNet3dSlowFast(pretrained=None, resample_rate=4, speed_ratio=4, channel_ratio=4, slow_pathway=slow)


def test_frozen_stages_freeze_the_matching_laterals() -> None:
    slow = ResNet3dPathway(
        lateral=True,
        speed_ratio=4,
        channel_ratio=4,
        base_channels=16,
        frozen_stages=1,
        **{**PATHWAY, "conv1_kernel": (1, 7, 7)},
    )
    assert not any(p.requires_grad for p in slow.layer1_lateral.parameters())
    assert all(p.requires_grad for p in slow.layer2_lateral.parameters())


def test_whole_model_checkpoint_loads(tmp_path) -> None:
    source = _slowfast()
    path = tmp_path / "slowfast.pth"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in source.state_dict().items()}}, path)
    slow = ResNet3dPathway(
        lateral=True,
        speed_ratio=4,
        channel_ratio=4,
        base_channels=16,
        conv1_kernel=(1, 7, 7),
        inflate=(0, 0, 1, 1),
        **PATHWAY,
    )
    fast = ResNet3dPathway(lateral=False, base_channels=4, conv1_kernel=(5, 7, 7), **PATHWAY)
    loaded = ResNet3dSlowFast(
        pretrained=str(path),
        resample_rate=4,
        speed_ratio=4,
        channel_ratio=4,
        slow_pathway=slow,
        fast_pathway=fast,
    )
    assert loaded.load_report.clean
    torch.testing.assert_close(loaded.fast_path.conv1.conv.weight, source.fast_path.conv1.conv.weight)
