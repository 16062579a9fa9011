"""ResNet3d (I3D): shapes, inflate styles, 2D -> 3D weight inflation, 3D checkpoints, freezing."""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vidact.models.backbones import ResNet, ResNet3d
from vidact.models.backbones.resnet3d import _inflate_conv

from .._helpers import assert_one_step_trains

SMALL = dict(pretrained=None, base_channels=8, zero_init_residual=False)


@pytest.mark.parametrize(("depth", "channels"), [(18, 64), (50, 256)])
def test_output_shape(depth: int, channels: int) -> None:
    model = ResNet3d(depth=depth, **SMALL)
    with torch.no_grad():
        out = model(torch.randn(2, 3, 8, 32, 32))
    # conv1 and pool1 each halve time (strides 2), pool2 once more: 8 -> 1
    assert out.shape == (2, channels, 1, 1, 1)


@pytest.mark.parametrize(
    ("style", "first", "middle"), [("3x1x1", (3, 1, 1), (1, 3, 3)), ("3x3x3", (1, 1, 1), (3, 3, 3))]
)
def test_inflate_styles_place_the_temporal_kernel(style: str, first: tuple, middle: tuple) -> None:
    model = ResNet3d(
        depth=50,
        inflate_style=style,
        inflate=(1, 0, 0, 0),
        num_stages=2,
        out_indices=(1,),
        spatial_strides=(1, 2),
        temporal_strides=(1, 1),
        dilations=(1, 1),
        **SMALL,
    )
    block = model.layer1[0]
    assert block.conv1.conv.kernel_size == first and block.conv2.conv.kernel_size == middle
    assert model.layer2[0].conv1.conv.kernel_size == (1, 1, 1)
    assert model.layer2[0].conv2.conv.kernel_size == (1, 3, 3)


def test_per_block_inflate_flags() -> None:
    model = ResNet3d(depth=18, inflate=((1, 0), 0, (0, 1), 1), **SMALL)
    kernels = [[b.conv1.conv.kernel_size[0] for b in getattr(model, f"layer{i}")] for i in range(1, 5)]
    assert kernels == [[3, 1], [1, 1], [1, 3], [3, 3]]


def test_one_optimisation_step() -> None:
    model = ResNet3d(depth=18, conv1_stride_t=1, pool1_stride_t=1, **SMALL)
    assert_one_step_trains(model, torch.randn(2, 3, 4, 32, 32), num_samples=2)


def test_inflated_conv_answers_a_constant_clip_like_the_2d_conv() -> None:
    conv2d = nn.Conv2d(4, 6, 3, padding=1, bias=False)
    for kernel_t, pad_t in ((3, 1), (5, 0), (1, 0)):
        conv3d = nn.Conv3d(4, 6, (kernel_t, 3, 3), padding=(pad_t, 1, 1), bias=False)
        _inflate_conv(conv3d, conv2d.weight.detach())
        frame = torch.randn(2, 4, 9, 9)
        clip = frame.unsqueeze(2).expand(-1, -1, 7, -1, -1)
        with torch.no_grad():
            out3d, out2d = conv3d(clip), conv2d(frame)
        inner = slice(pad_t, out3d.shape[2] - pad_t)  # frames whose window lies inside the clip
        torch.testing.assert_close(out3d[:, :, inner], out2d.unsqueeze(2).expand_as(out3d[:, :, inner]))


def test_inflated_network_answers_a_constant_clip_like_the_2d_network(tmp_path, caplog) -> None:
    resnet2d = ResNet(depth=18)
    with torch.no_grad():
        for m in resnet2d.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "r18_imagenet.pth"
    torch.save({**resnet2d.state_dict(), "fc.weight": torch.zeros(10, 512), "fc.bias": torch.zeros(10)}, path)

    with caplog.at_level(logging.INFO, logger="vidact"):
        resnet3d = ResNet3d(
            depth=18,
            pretrained=str(path),
            pretrained2d=True,
            conv1_kernel=(3, 7, 7),
            conv1_stride_t=1,
            pool1_stride_t=1,
            with_pool2=False,
            inflate=(0, 0, 0, 0),
        )
    report = resnet3d.load_report
    assert report.unexpected == ("fc.weight", "fc.bias") and not report.missing and not report.mismatched
    assert "inflated 2D -> 3D" in caplog.text
    assert resnet3d.conv1.conv.weight.shape == (64, 3, 3, 7, 7)

    frame = torch.randn(2, 3, 64, 64)
    clip = frame.unsqueeze(2).expand(-1, -1, 5, -1, -1)
    with torch.no_grad():
        out3d = resnet3d.eval()(clip)
        out2d = resnet2d.eval()(frame)
    # the stem's 3-frame kernel sees padding at the clip ends; the frames in between match exactly
    torch.testing.assert_close(
        out3d[:, :, 1:-1], out2d.unsqueeze(2).expand(-1, -1, 3, -1, -1), atol=1e-4, rtol=1e-4
    )


def test_3d_checkpoint_of_a_whole_recognizer_loads_into_the_backbone(tmp_path) -> None:
    source = ResNet3d(depth=18, **SMALL)
    state = {f"backbone.{k}": v + 1 if v.is_floating_point() else v for k, v in source.state_dict().items()}
    state["cls_head.fc_cls.weight"] = torch.zeros(3, 64)
    path = tmp_path / "i3d.pth"
    torch.save({"state_dict": state, "meta": {"epoch": 3}}, path)
    loaded = ResNet3d(depth=18, **{**SMALL, "pretrained": str(path)}, pretrained2d=False)
    assert loaded.load_report.clean
    torch.testing.assert_close(loaded.layer2[0].conv1.conv.weight, source.layer2[0].conv1.conv.weight + 1)


def test_state_dict_uses_the_reference_3d_names() -> None:
    keys = set(ResNet3d(depth=50, **SMALL).state_dict())
    for key in (
        "conv1.conv.weight",
        "conv1.bn.running_var",
        "layer1.0.conv3.bn.weight",
        "layer1.0.downsample.conv.weight",
        "layer1.0.downsample.bn.bias",
        "layer4.2.conv2.conv.weight",
    ):
        assert key in keys


def test_zero_init_residual_zeroes_each_blocks_last_norm() -> None:
    model = ResNet3d(depth=50, pretrained=None, base_channels=8)
    assert all(not b.conv3.bn.weight.detach().any() for b in model.layer1)
    assert bool((model.layer1[0].conv2.bn.weight.detach() == 1).all())


def test_non_local_blocks_and_frozen_stages() -> None:
    model = ResNet3d(depth=18, non_local=(0, (1, 0), 0, 0), frozen_stages=1, norm_eval=True, **SMALL).train()
    assert model.layer2[0].non_local_block is not None and model.layer2[1].non_local_block is None
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert not any(m.training for m in model.modules() if isinstance(m, nn.BatchNorm3d))
    with torch.no_grad():
        assert model(torch.randn(1, 3, 8, 32, 32)).shape == (1, 64, 1, 1, 1)


def test_channels_last_3d_input_gives_the_same_result() -> None:
    model = ResNet3d(depth=18, **SMALL).eval()
    x = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x.to(memory_format=torch.channels_last_3d)), model(x))


def test_with_cp_gives_the_same_gradients() -> None:
    plain = ResNet3d(depth=18, **SMALL)
    checkpointed = ResNet3d(depth=18, with_cp=True, **SMALL)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 8, 32, 32, requires_grad=True)
    for model in (plain, checkpointed):
        F.relu(model(x)).sum().backward()
    torch.testing.assert_close(plain.conv1.conv.weight.grad, checkpointed.conv1.conv.weight.grad)
