"""2D ResNet (TSN backbone) whose state-dict keys follow the common ImageNet ResNet layout.

`conv1, bn1, layer1.0.conv1, layer1.0.bn1, ..., layer1.0.downsample.0/1`: an ImageNet checkpoint
of the matching depth loads as is (its `fc.*` entries are reported as unused). Frame batches go in:
`x: (N * num_segments, C, H, W)`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from vidact.models.common.layers import (
    BN2D,
    CONV2D,
    RELU_INPLACE,
    LayerCfg,
    build_activation,
    build_norm_layer,
    constant_init,
    is_batch_norm,
    kaiming_init,
)
from vidact.models.registry import BACKBONES
from vidact.models.weights import LoadReport, StateDict, load_pretrained

log = logging.getLogger(__name__)

Style = Literal["pytorch", "caffe"]
StageFlags = Sequence[int | Sequence[int]]
"""Per-stage 0/1 switches: one int for the whole stage or one per block (`inflate`, `non_local`)."""


def check_stage_args(num_stages: int, out_indices: Sequence[int], style: str, **per_stage: Sequence) -> None:
    """Validate the per-stage arguments shared by the 2D and 3D ResNets (the spec checks them too;
    this keeps the classes safe to use without a recipe)."""
    if not 1 <= num_stages <= 4:
        raise ValueError(f"num_stages must be in 1..4, got {num_stages}")
    if not out_indices or max(out_indices) >= num_stages:
        raise ValueError(f"out_indices {list(out_indices)} must be non-empty and < num_stages ({num_stages})")
    if style not in ("pytorch", "caffe"):
        raise ValueError(f"style must be 'pytorch' or 'caffe', got {style!r}")
    for name, values in per_stage.items():
        if len(values) != num_stages:
            raise ValueError(f"{name} has {len(values)} entries, expected one per stage ({num_stages})")


def expand_stage_flags(flags: StageFlags, stage_blocks: Sequence[int], name: str) -> list[tuple[int, ...]]:
    """Per-stage flags (one int for the stage or one per block) -> one tuple of per-block flags per stage."""
    if len(flags) < len(stage_blocks):
        raise ValueError(f"{name} has {len(flags)} entries, expected one per stage ({len(stage_blocks)})")
    out = []
    for stage, (flag, count) in enumerate(zip(flags, stage_blocks)):
        per_block = (flag,) * count if isinstance(flag, int) else tuple(flag)
        if len(per_block) != count:
            raise ValueError(f"{name}[{stage}] has {len(per_block)} flags, stage {stage} has {count} blocks")
        out.append(per_block)
    return out


class _Block2d(nn.Module):
    """Residual-block skeleton with the two hooks ResNetTSM uses, neither of which adds state-dict
    keys to the ImageNet layout: a parameter-free `shift` in front of the residual branch (or of the
    whole block), and a `non_local_block` after it."""

    expansion = 1

    def __init__(self, *, downsample: nn.Module | None, act_cfg: LayerCfg, with_cp: bool) -> None:
        super().__init__()
        self.relu = build_activation(act_cfg)
        self.downsample = downsample
        self.with_cp = with_cp
        self.shift: nn.Module | None = None
        self.shift_whole_block = False
        self.non_local_block: nn.Module | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x: (N * T, C_in, H, W)` -> `(N * T, C_out, H', W')`."""
        if self.with_cp and x.requires_grad:
            out = checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        out = self.relu(out)
        if self.non_local_block is not None:
            out = self.non_local_block(out)
        return out

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        if self.shift is not None and self.shift_whole_block:
            x = self.shift(x)
        identity = x if self.downsample is None else self.downsample(x)
        branch = self.shift(x) if self.shift is not None and not self.shift_whole_block else x
        return self._branch(branch) + identity

    def _branch(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class BasicBlock(_Block2d):
    """Two 3x3 convs (ResNet-18/34); the stride sits on the first."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        *,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        style: Style = "pytorch",
        norm_cfg: LayerCfg = BN2D,
        act_cfg: LayerCfg = RELU_INPLACE,
        with_cp: bool = False,
    ) -> None:
        super().__init__(downsample=downsample, act_cfg=act_cfg, with_cp=with_cp)
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, padding=1, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, planes)

    def _branch(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))


class Bottleneck(_Block2d):
    """1x1 reduce, 3x3, 1x1 expand (ResNet-50+); 'pytorch' style strides the 3x3, 'caffe' the first 1x1."""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        *,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        style: Style = "pytorch",
        norm_cfg: LayerCfg = BN2D,
        act_cfg: LayerCfg = RELU_INPLACE,
        with_cp: bool = False,
    ) -> None:
        super().__init__(downsample=downsample, act_cfg=act_cfg, with_cp=with_cp)
        stride1, stride2 = (1, stride) if style == "pytorch" else (stride, 1)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride2, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = build_norm_layer(norm_cfg, planes * self.expansion)

    def _branch(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


def make_res_layer(
    block: type[BasicBlock] | type[Bottleneck],
    inplanes: int,
    planes: int,
    num_blocks: int,
    *,
    stride: int = 1,
    dilation: int = 1,
    style: Style = "pytorch",
    norm_cfg: LayerCfg = BN2D,
    act_cfg: LayerCfg = RELU_INPLACE,
    with_cp: bool = False,
) -> nn.Sequential:
    """One stage: `num_blocks` blocks, the first one strided and projecting the identity when needed."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes * block.expansion, 1, stride, bias=False),
            build_norm_layer(norm_cfg, planes * block.expansion),
        )
    common = dict(dilation=dilation, style=style, norm_cfg=norm_cfg, act_cfg=act_cfg, with_cp=with_cp)
    layers = [block(inplanes, planes, stride=stride, downsample=downsample, **common)]
    layers += [block(planes * block.expansion, planes, **common) for _ in range(1, num_blocks)]
    return nn.Sequential(*layers)


def mmaction_resnet_keys(state: StateDict) -> StateDict:
    """Rename MMAction-layout 2D ResNet/TSM keys (`conv1.conv`, `layer1.0.conv1.conv.net`,
    `downsample.conv`, `layer2.0.block.`) to the ImageNet layout this backbone uses
    (the rule table `vidact.models.convert.RESNET2D_RULES`)."""
    from vidact.models.convert import RESNET2D_RULES, rename_keys

    return rename_keys(state, "", RESNET2D_RULES)


@BACKBONES.register()
class ResNet(nn.Module):
    """ResNet-18/34/50/101/152 feature extractor for frames.

    Args:
        depth: 18, 34, 50, 101 or 152.
        pretrained: a local weight file, loaded non-strictly with a logged report; None for random init.
        torchvision_pretrain: True when `pretrained` uses the ImageNet layout (torchvision-style
            names), False for an MMAction-layout file (`conv1.conv.weight`, ...), renamed on load.
        in_channels: input channels (3 for RGB).
        num_stages: residual stages to build (1-4).
        out_indices: stages whose output is returned (a tuple when more than one).
        strides, dilations: per stage, for its first block / all its 3x3 convs.
        style: where a bottleneck puts its stride ('pytorch': the 3x3, 'caffe': the first 1x1).
        frozen_stages: stem (0) and stages up to this index get no gradients and stay in eval mode.
        conv_cfg: must be `Conv`/`Conv2d`.
        norm_cfg, act_cfg: norm and activation layer settings.
        norm_eval: keep every BN layer in eval mode (frozen statistics) while training.
        partial_bn: freeze every BN layer but the first (statistics and affine parameters), as TSN does.
        with_cp: recompute each block's activations in the backward pass to save memory.
    """

    arch_settings: dict[int, tuple[type[BasicBlock] | type[Bottleneck], tuple[int, ...]]] = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        *,
        depth: int,
        pretrained: str | None = None,
        torchvision_pretrain: bool = True,
        in_channels: int = 3,
        num_stages: int = 4,
        out_indices: Sequence[int] = (3,),
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        style: Style = "pytorch",
        frozen_stages: int = -1,
        conv_cfg: LayerCfg = CONV2D,
        norm_cfg: LayerCfg = BN2D,
        act_cfg: LayerCfg = RELU_INPLACE,
        norm_eval: bool = False,
        partial_bn: bool = False,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        if depth not in self.arch_settings:
            raise ValueError(f"invalid depth {depth} for ResNet; choose from {sorted(self.arch_settings)}")
        check_stage_args(num_stages, out_indices, style, strides=strides, dilations=dilations)
        if conv_cfg.get("type") not in ("Conv", "Conv2d"):
            raise ValueError(
                f"ResNet is 2D: conv_cfg type must be Conv or Conv2d, got {conv_cfg.get('type')!r}"
            )
        self.depth = depth
        self.pretrained = pretrained
        self.torchvision_pretrain = torchvision_pretrain
        self.num_stages = num_stages
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.partial_bn = partial_bn
        self.load_report: LoadReport | None = None

        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, 64)
        self.relu = build_activation(act_cfg)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        self.res_layers: list[str] = []
        inplanes = 64
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = 64 * 2**i
            layer = make_res_layer(
                self.block,
                inplanes,
                planes,
                num_blocks,
                stride=strides[i],
                dilation=dilations[i],
                style=style,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
                with_cp=with_cp,
            )
            inplanes = planes * self.block.expansion
            self.add_module(f"layer{i + 1}", layer)
            self.res_layers.append(f"layer{i + 1}")
        self.feat_dim = inplanes
        self.init_weights()
        self.train(self.training)  # apply frozen_stages / partial_bn now, not only at the first .train()

    def init_weights(self) -> None:
        """He init for convs, unit BN; then the `pretrained` file, if any, on top."""
        self._init_random()
        self._load_pretrained()

    def _init_random(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                constant_init(m, 1.0)

    def _load_pretrained(self) -> None:
        if self.pretrained:
            convert = None if self.torchvision_pretrain else mmaction_resnet_keys
            self.load_report = load_pretrained(self, self.pretrained, convert=convert, logger=log)

    def _stage_input(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Hook run before stage `index` (ResNetTSM pools time there)."""
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """`x: (N, C, H, W)` -> the `out_indices` stage outputs, `(N, C_i, H_i, W_i)` each."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(self._stage_input(i, x))
            if i in self.out_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            self.bn1.eval()
            for param in (*self.conv1.parameters(), *self.bn1.parameters()):
                param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            layer = getattr(self, f"layer{i}")
            layer.eval()
            for param in layer.parameters():
                param.requires_grad = False

    def _partial_bn(self) -> None:
        log.debug("partial BN: freezing every BatchNorm2d but the first")
        bns = [m for m in self.modules() if isinstance(m, nn.BatchNorm2d)]
        for m in bns[1:]:
            m.eval()
            m.weight.requires_grad = False
            m.bias.requires_grad = False

    def train(self, mode: bool = True) -> ResNet:
        """Switch mode, keeping frozen stages, `norm_eval` and `partial_bn` layers in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if is_batch_norm(m):
                    m.eval()
        if mode and self.partial_bn:
            self._partial_bn()
        return self
