"""Shared layers: cfg-built norms/convs/activations, ConvModule names, non-local blocks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidact.models.common import ConvModule, NonLocal3d, build_activation, build_conv_layer, build_norm_layer


def test_norm_layers_from_cfg() -> None:
    bn = build_norm_layer({"type": "BN3d", "requires_grad": False, "eps": 1e-3, "momentum": 0.2}, 8)
    assert isinstance(bn, nn.BatchNorm3d) and bn.eps == 1e-3 and bn.momentum == 0.2
    assert not bn.weight.requires_grad
    assert isinstance(build_norm_layer({"type": "SyncBN"}, 4), nn.SyncBatchNorm)
    with pytest.raises(ValueError, match="unknown norm type 'GN'"):
        build_norm_layer({"type": "GN"}, 4)
    with pytest.raises(ValueError, match="unknown option"):
        build_norm_layer({"type": "BN", "groups": 2}, 4)


def test_conv_and_activation_from_cfg() -> None:
    assert isinstance(build_conv_layer({"type": "Conv"}, 3, 4, 3), nn.Conv2d)
    assert isinstance(build_conv_layer({"type": "Conv3d"}, 3, 4, 3), nn.Conv3d)
    assert build_activation({"type": "ReLU", "inplace": True}).inplace
    with pytest.raises(ValueError, match="unknown conv type"):
        build_conv_layer({"type": "DeformConv"}, 3, 4, 3)


def test_conv_module_names_and_auto_bias() -> None:
    with_norm = ConvModule(3, 4, 3, norm_cfg={"type": "BN3d"})
    assert set(with_norm.state_dict()) >= {"conv.weight", "bn.weight", "bn.running_mean"}
    assert with_norm.conv.bias is None
    assert ConvModule(3, 4, 1, act_cfg=None).conv.bias is not None


@pytest.mark.parametrize("mode", ["gaussian", "embedded_gaussian", "dot_product", "concatenation"])
@pytest.mark.parametrize("sub_sample", [False, True])
def test_non_local_starts_as_identity_in_every_mode(mode: str, sub_sample: bool) -> None:
    block = NonLocal3d(8, mode=mode, sub_sample=sub_sample, norm_cfg={"type": "BN3d"})
    x = torch.randn(2, 8, 2, 4, 4)
    torch.testing.assert_close(block(x), x)
    with torch.no_grad():
        block.conv_out.bn.weight.fill_(1.0)
    block.eval()
    assert block(x).shape == x.shape and not torch.allclose(block(x), x)


def test_non_local_on_frames_equals_it_on_clips() -> None:
    block = NonLocal3d(8, num_segments=4).eval()
    with torch.no_grad():
        block.conv_out.conv.weight.normal_()
    frames = torch.randn(2 * 4, 8, 3, 3)
    clips = frames.reshape(2, 4, 8, 3, 3).transpose(1, 2)
    expected = block(clips).transpose(1, 2).reshape(8, 8, 3, 3)
    torch.testing.assert_close(block(frames), expected)
    with pytest.raises(ValueError, match="num_segments"):
        NonLocal3d(8)(frames)


def test_embedded_gaussian_by_hand() -> None:
    block = NonLocal3d(4, reduction=2, use_scale=True)
    with torch.no_grad():
        block.conv_out.conv.weight.normal_()
    x = torch.randn(1, 4, 1, 2, 3)
    flat = x.reshape(4, 6)

    def embed(m: ConvModule) -> torch.Tensor:  # (positions, inter)
        return (m.conv.weight.reshape(2, 4) @ flat + m.conv.bias[:, None]).T

    theta, phi, g = embed(block.theta), embed(block.phi), embed(block.g)
    weights = torch.softmax(theta @ phi.T / 2**0.5, dim=-1)
    y = (weights @ g).T.reshape(1, 2, 1, 2, 3)
    expected = x + block.conv_out(y)
    torch.testing.assert_close(block(x), expected)
