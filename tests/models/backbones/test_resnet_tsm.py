"""ResNetTSM: the temporal shift against a slow reference, per-video grouping, temporal pool,
non-local blocks, ImageNet key layout and one optimisation step."""

from __future__ import annotations

import pytest
import torch

from vidact.models.backbones import ResNet, ResNetTSM, temporal_shift
from vidact.models.backbones.resnet_tsm import temporal_max_pool

from .._helpers import assert_one_step_trains, imagenet_resnet_keys


def _shift_reference(x: torch.Tensor, num_segments: int, shift_div: int) -> torch.Tensor:
    """Element by element: within each video, channels [0, fold) read the next segment, channels
    [fold, 2 fold) the previous one, with zeros past the ends; other channels are copied."""
    nt, c, h, w = x.shape
    fold = c // shift_div
    out = torch.zeros_like(x)
    for video in range(nt // num_segments):
        for t in range(num_segments):
            row = video * num_segments + t
            for ch in range(c):
                if ch < fold:
                    if t + 1 < num_segments:
                        out[row, ch] = x[row + 1, ch]
                elif ch < 2 * fold:
                    if t > 0:
                        out[row, ch] = x[row - 1, ch]
                else:
                    out[row, ch] = x[row, ch]
    return out


@pytest.mark.parametrize(
    ("videos", "segments", "channels", "shift_div"),
    [(2, 8, 16, 8), (1, 3, 10, 4), (3, 4, 7, 2), (2, 5, 24, 3), (1, 1, 8, 8)],
)
def test_temporal_shift_matches_the_slow_reference(
    videos: int, segments: int, channels: int, shift_div: int
) -> None:
    x = torch.randn(videos * segments, channels, 3, 2)
    torch.testing.assert_close(
        temporal_shift(x, segments, shift_div), _shift_reference(x, segments, shift_div)
    )


def test_temporal_shift_keeps_channels_last() -> None:
    x = torch.randn(2 * 4, 16, 5, 5).to(memory_format=torch.channels_last)
    out = temporal_shift(x, 4, 8)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, _shift_reference(x.contiguous(), 4, 8))


def test_temporal_shift_refuses_a_partial_clip() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        temporal_shift(torch.randn(12, 8, 2, 2), 8, 8)


def test_temporal_max_pool_halves_each_clip() -> None:
    x = torch.arange(2 * 4, dtype=torch.float32).reshape(8, 1, 1, 1)
    # clip [0, 1, 2, 3]: windows (pad, 0, 1) and (1, 2, 3) -> 1, 3
    assert temporal_max_pool(x, 4).flatten().tolist() == [1.0, 3.0, 5.0, 7.0]


@pytest.mark.parametrize("shift_place", ["blockres", "block"])
def test_output_shape_and_one_optimisation_step(shift_place: str) -> None:
    model = ResNetTSM(depth=18, num_segments=4, shift_place=shift_place)
    x = torch.randn(2 * 4, 3, 32, 32)
    with torch.no_grad():
        assert model(x).shape == (8, 512, 1, 1)
    assert_one_step_trains(model, x, num_samples=2)


def test_videos_do_not_mix_and_the_shift_changes_the_output() -> None:
    tsm = ResNetTSM(depth=18, num_segments=4).eval()
    tsn = ResNet(depth=18).eval()
    tsn.load_state_dict(tsm.state_dict())
    x = torch.randn(2 * 4, 3, 32, 32)
    other = x.clone()
    other[4:] = torch.randn(4, 3, 32, 32)  # change the second video only
    with torch.no_grad():
        out, out_other = tsm(x), tsm(other)
        torch.testing.assert_close(out[:4], out_other[:4])
        assert not torch.allclose(out, tsn(x), atol=1e-4)


def test_state_dict_is_the_imagenet_layout() -> None:
    expected = imagenet_resnet_keys(50) - {"fc.weight", "fc.bias"}
    assert set(ResNetTSM(depth=50).state_dict()) == expected


def test_temporal_pool_halves_the_frames_after_stage_one() -> None:
    model = ResNetTSM(depth=18, num_segments=4, temporal_pool=True)
    with torch.no_grad():
        assert model(torch.randn(2 * 4, 3, 32, 32)).shape == (4, 512, 1, 1)
    assert [b.shift.num_segments for b in model.layer1] == [4, 4]
    assert [b.shift.num_segments for b in model.layer2] == [2, 2]
    with pytest.raises(ValueError, match="even"):
        ResNetTSM(depth=18, num_segments=3, temporal_pool=True)


def test_deep_networks_shift_every_other_block() -> None:
    model = ResNetTSM(depth=101, num_stages=3, out_indices=(2,), strides=(1, 2, 2), dilations=(1, 1, 1))
    assert [block.shift is not None for block in model.layer1] == [True, False, True]


def test_non_local_blocks_start_as_identities_and_learn() -> None:
    plain = ResNetTSM(depth=18, num_segments=4).eval()
    with_nl = ResNetTSM(
        depth=18,
        num_segments=4,
        non_local=((0, 0), (1, 0), 1, 0),
        non_local_cfg={
            "sub_sample": True,
            "use_scale": False,
            "mode": "dot_product",
            "norm_cfg": {"type": "BN3d", "requires_grad": True},
        },
    ).eval()
    keys = set(with_nl.state_dict()) - set(plain.state_dict())
    assert {k.split(".non_local_block")[0] for k in keys} == {"layer2.0", "layer3.0", "layer3.1"}
    assert "layer2.0.non_local_block.g.0.conv.weight" in keys  # sub-sampled g: conv then pool
    with_nl.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(2 * 4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(with_nl(x), plain(x))
    # the zero-initialised output norm is the only non-local parameter with a gradient at step one
    frozen_by_zero_init = (
        "non_local_block.g",
        "non_local_block.theta",
        "non_local_block.phi",
        "conv_out.conv",
    )
    assert_one_step_trains(with_nl, x, num_samples=2, may_be_zero=frozen_by_zero_init)
