"""Inflated 3D ResNet (I3D, Carreira & Zisserman 2017) and the 3D blocks the other video ResNets reuse.

State-dict names follow the reference's 3D checkpoints (`conv1.conv`, `conv1.bn`,
`layer1.0.conv1.conv`, `layer1.0.downsample.conv`), so its published 3D weights load with
`pretrained2d: false`; with `pretrained2d: true`, `pretrained` is a 2D ImageNet-layout ResNet whose
kernels are inflated: repeated over time and divided by the temporal size, so a clip of identical
frames gives the 2D network's response.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from vidact.models.backbones.resnet import StageFlags, Style, check_stage_args, expand_stage_flags
from vidact.models.common.layers import (
    BN3D,
    CONV3D,
    RELU_INPLACE,
    ConvModule,
    LayerCfg,
    build_activation,
    constant_init,
    is_batch_norm,
    kaiming_init,
)
from vidact.models.common.non_local import NonLocal3d
from vidact.models.registry import BACKBONES
from vidact.models.weights import LoadReport, StateDict, load_pretrained, read_state_dict, select_prefix

log = logging.getLogger(__name__)

InflateStyle = Literal["3x1x1", "3x3x3"]


class _Block3d(nn.Module):
    """Residual skeleton: branch + identity (checkpointed when `with_cp`), ReLU, optional non-local."""

    expansion = 1

    def __init__(
        self,
        *,
        downsample: nn.Module | None,
        act_cfg: LayerCfg,
        with_cp: bool,
        non_local: bool,
        non_local_cfg: Mapping[str, Any],
        out_channels: int,
    ) -> None:
        super().__init__()
        self.downsample = downsample
        self.relu = build_activation(act_cfg)
        self.with_cp = with_cp
        self.non_local_block = NonLocal3d(out_channels, **non_local_cfg) if non_local else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x: (N, C_in, T, H, W)` -> `(N, C_out, T', H', W')`."""
        if self.with_cp and x.requires_grad:
            out = checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        out = self.relu(out)
        if self.non_local_block is not None:
            out = self.non_local_block(out)
        return out

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self._branch(x) + identity

    def _branch(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class BasicBlock3d(_Block3d):
    """Two 3x3 convs, 3x3x3 when inflated, else 1x3x3; strides on the first. `inflate_style` is unused."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        *,
        spatial_stride: int = 1,
        temporal_stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        style: Style = "pytorch",
        inflate: bool = True,
        inflate_style: InflateStyle = "3x1x1",
        non_local: bool = False,
        non_local_cfg: Mapping[str, Any] | None = None,
        conv_cfg: LayerCfg = CONV3D,
        norm_cfg: LayerCfg = BN3D,
        act_cfg: LayerCfg = RELU_INPLACE,
        with_cp: bool = False,
    ) -> None:
        super().__init__(
            downsample=downsample,
            act_cfg=act_cfg,
            with_cp=with_cp,
            non_local=non_local,
            non_local_cfg=non_local_cfg or {},
            out_channels=planes * self.expansion,
        )
        kt, pt = (3, 1) if inflate else (1, 0)
        self.conv1 = ConvModule(
            inplanes,
            planes,
            (kt, 3, 3),
            stride=(temporal_stride, spatial_stride, spatial_stride),
            padding=(pt, dilation, dilation),
            dilation=(1, dilation, dilation),
            bias=False,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
        self.conv2 = ConvModule(
            planes,
            planes * self.expansion,
            (kt, 3, 3),
            padding=(pt, 1, 1),
            bias=False,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None,
        )

    def _branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class Bottleneck3d(_Block3d):
    """1x1x1 reduce, 3x3 middle, 1x1x1 expand. Inflated '3x1x1': the first conv is 3x1x1;
    '3x3x3': the middle one is 3x3x3. 'pytorch' style strides the middle conv, 'caffe' the first."""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        *,
        spatial_stride: int = 1,
        temporal_stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        style: Style = "pytorch",
        inflate: bool = True,
        inflate_style: InflateStyle = "3x1x1",
        non_local: bool = False,
        non_local_cfg: Mapping[str, Any] | None = None,
        conv_cfg: LayerCfg = CONV3D,
        norm_cfg: LayerCfg = BN3D,
        act_cfg: LayerCfg = RELU_INPLACE,
        with_cp: bool = False,
    ) -> None:
        super().__init__(
            downsample=downsample,
            act_cfg=act_cfg,
            with_cp=with_cp,
            non_local=non_local,
            non_local_cfg=non_local_cfg or {},
            out_channels=planes * self.expansion,
        )
        if inflate_style not in ("3x1x1", "3x3x3"):
            raise ValueError(f"inflate_style must be '3x1x1' or '3x3x3', got {inflate_style!r}")
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        if style == "pytorch":
            stride1, stride2 = (1, 1, 1), (temporal_stride, spatial_stride, spatial_stride)
        else:
            stride1, stride2 = (temporal_stride, spatial_stride, spatial_stride), (1, 1, 1)
        first_t = inflate and inflate_style == "3x1x1"
        middle_t = inflate and inflate_style == "3x3x3"
        self.conv1 = ConvModule(
            inplanes,
            planes,
            (3, 1, 1) if first_t else (1, 1, 1),
            stride=stride1,
            padding=(1, 0, 0) if first_t else (0, 0, 0),
            bias=False,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
        self.conv2 = self._middle_conv(
            planes,
            kernel=(3 if middle_t else 1, 3, 3),
            stride=stride2,
            padding=(1 if middle_t else 0, dilation, dilation),
            dilation=(1, dilation, dilation),
        )
        self.conv3 = ConvModule(
            planes,
            planes * self.expansion,
            1,
            bias=False,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None,
        )

    def _middle_conv(
        self,
        planes: int,
        *,
        kernel: tuple[int, int, int],
        stride: tuple[int, int, int],
        padding: tuple[int, int, int],
        dilation: tuple[int, int, int],
    ) -> nn.Module:
        return ConvModule(
            planes,
            planes,
            kernel,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=False,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )

    def _branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.conv2(self.conv1(x)))


@BACKBONES.register()
class ResNet3d(nn.Module):
    """3D ResNet-18/34/50/101/152 on clips `x: (N, C, T, H, W)`.

    Args:
        depth: 18, 34, 50, 101 or 152.
        pretrained: local weight file or None (random init).
        pretrained2d: `pretrained` is a 2D ImageNet-layout ResNet to inflate (else a 3D checkpoint).
        in_channels, base_channels: input channels and stem width (stage i has base * 2**i planes).
        num_stages, out_indices: stages to build and to return (a tuple when several).
        spatial_strides, temporal_strides, dilations: per stage, for its first block.
        conv1_kernel, conv1_stride_t, pool1_stride_t: stem conv kernel and temporal strides.
        with_pool2: max-pool time by 2 after stage 1.
        style: 'pytorch' (stride on the 3x3) or 'caffe' (on the first 1x1).
        frozen_stages: stem (0) and stages up to this index get no gradients and stay in eval mode.
        inflate: per stage (or per block) 0/1: give the block temporal kernels.
        inflate_style: '3x1x1' (temporal first conv) or '3x3x3' (temporal middle conv) in bottlenecks.
        conv_cfg, norm_cfg, act_cfg: layer settings (`Conv3d` or `Conv2plus1d` convs).
        norm_eval: keep BN layers in eval mode while training.
        with_cp: recompute block activations in backward to save memory.
        non_local, non_local_cfg: per stage/block non-local switches and `NonLocal3d` options.
        zero_init_residual: start each block's last norm at 0 so blocks begin as identities.
    """

    arch_settings: dict[int, tuple[type[_Block3d], tuple[int, ...]]] = {
        18: (BasicBlock3d, (2, 2, 2, 2)),
        34: (BasicBlock3d, (3, 4, 6, 3)),
        50: (Bottleneck3d, (3, 4, 6, 3)),
        101: (Bottleneck3d, (3, 4, 23, 3)),
        152: (Bottleneck3d, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        *,
        depth: int,
        pretrained: str | None,
        pretrained2d: bool = True,
        in_channels: int = 3,
        num_stages: int = 4,
        base_channels: int = 64,
        out_indices: Sequence[int] = (3,),
        spatial_strides: Sequence[int] = (1, 2, 2, 2),
        temporal_strides: Sequence[int] = (1, 1, 1, 1),
        dilations: Sequence[int] = (1, 1, 1, 1),
        conv1_kernel: Sequence[int] = (5, 7, 7),
        conv1_stride_t: int = 2,
        pool1_stride_t: int = 2,
        with_pool2: bool = True,
        style: Style = "pytorch",
        frozen_stages: int = -1,
        inflate: StageFlags = (1, 1, 1, 1),
        inflate_style: InflateStyle = "3x1x1",
        conv_cfg: LayerCfg = CONV3D,
        norm_cfg: LayerCfg = BN3D,
        act_cfg: LayerCfg = RELU_INPLACE,
        norm_eval: bool = False,
        with_cp: bool = False,
        non_local: StageFlags = (0, 0, 0, 0),
        non_local_cfg: Mapping[str, Any] | None = None,
        zero_init_residual: bool = True,
    ) -> None:
        super().__init__()
        if depth not in self.arch_settings:
            raise ValueError(
                f"invalid depth {depth} for {type(self).__name__}; choose from {sorted(self.arch_settings)}"
            )
        check_stage_args(
            num_stages,
            out_indices,
            style,
            spatial_strides=spatial_strides,
            temporal_strides=temporal_strides,
            dilations=dilations,
        )
        self.depth = depth
        self.pretrained = pretrained
        self.pretrained2d = pretrained2d
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.out_indices = tuple(out_indices)
        self.with_pool2 = with_pool2
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.load_report: LoadReport | None = None

        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        inflations = expand_stage_flags(inflate, self.stage_blocks, "inflate")
        non_locals = expand_stage_flags(non_local, self.stage_blocks, "non_local")

        kernel = tuple(conv1_kernel)
        self.conv1 = ConvModule(
            in_channels,
            base_channels,
            kernel,
            stride=(conv1_stride_t, 2, 2),
            padding=tuple((k - 1) // 2 for k in kernel),
            bias=False,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
        self.maxpool = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(pool1_stride_t, 2, 2), padding=(0, 1, 1))
        self.pool2 = nn.MaxPool3d(kernel_size=(2, 1, 1), stride=(2, 1, 1))

        self.res_layers: list[str] = []
        inplanes = base_channels
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2**i
            layer = self.make_res_layer(
                inplanes,
                planes,
                num_blocks,
                spatial_stride=spatial_strides[i],
                temporal_stride=temporal_strides[i],
                dilation=dilations[i],
                style=style,
                inflate=inflations[i],
                inflate_style=inflate_style,
                non_local=non_locals[i],
                non_local_cfg=dict(non_local_cfg or {}),
                with_cp=with_cp,
            )
            inplanes = planes * self.block.expansion
            self.add_module(f"layer{i + 1}", layer)
            self.res_layers.append(f"layer{i + 1}")
        self.feat_dim = inplanes
        self._add_extra_layers()
        self.init_weights()
        self.train(self.training)

    # ---- construction hooks (ResNet3dPathway adds lateral connections, ResNet3dCSN its blocks) ----

    def _lateral_inplanes(self, inplanes: int) -> int:
        """Extra input channels the first block of a stage receives from another pathway."""
        return 0

    def _add_extra_layers(self) -> None:
        """Add modules beyond the stem and stages, before the weights are initialised."""

    def _block_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments for every block."""
        return {}

    def make_res_layer(
        self,
        inplanes: int,
        planes: int,
        num_blocks: int,
        *,
        spatial_stride: int,
        temporal_stride: int,
        dilation: int,
        style: Style,
        inflate: tuple[int, ...],
        inflate_style: InflateStyle,
        non_local: tuple[int, ...],
        non_local_cfg: dict[str, Any],
        with_cp: bool,
    ) -> nn.Sequential:
        """One stage of `num_blocks` blocks; the first is strided and projects the identity when needed."""
        block = self.block
        first_in = inplanes + self._lateral_inplanes(inplanes)
        out = planes * block.expansion
        downsample = None
        if spatial_stride != 1 or temporal_stride != 1 or first_in != out:
            downsample = ConvModule(
                first_in,
                out,
                1,
                stride=(temporal_stride, spatial_stride, spatial_stride),
                bias=False,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=None,
            )
        common = dict(
            dilation=dilation,
            style=style,
            inflate_style=inflate_style,
            non_local_cfg=non_local_cfg,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            with_cp=with_cp,
            **self._block_kwargs(),
        )
        layers = []
        for j in range(num_blocks):
            layers.append(
                block(
                    first_in if j == 0 else out,
                    planes,
                    spatial_stride=spatial_stride if j == 0 else 1,
                    temporal_stride=temporal_stride if j == 0 else 1,
                    downsample=downsample if j == 0 else None,
                    inflate=inflate[j] == 1,
                    non_local=non_local[j] == 1,
                    **common,
                )
            )
        return nn.Sequential(*layers)

    # ---- weights -----------------------------------------------------------------------------------

    def init_weights(self) -> None:
        """He init for convs, unit BN, zero last norm per block (`zero_init_residual`), identity
        non-local blocks; then `pretrained` on top: inflated when `pretrained2d`, else loaded as is."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                kaiming_init(m)
            elif is_batch_norm(m):
                constant_init(m, 1.0)
        if self.zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck3d):
                    constant_init(m.conv3.bn, 0.0)
                elif isinstance(m, BasicBlock3d):
                    constant_init(m.conv2.bn, 0.0)
        for m in self.modules():
            if isinstance(m, NonLocal3d):
                m.init_weights()
        if self.pretrained:
            if self.pretrained2d:
                state = select_prefix(read_state_dict(self.pretrained), "backbone.")
                self.load_report = inflate_2d_weights(self, state, source=str(self.pretrained))
            else:
                self.load_report = load_pretrained(self, self.pretrained, logger=log)

    # ---- running ---------------------------------------------------------------------------------

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """`x: (N, C, T, H, W)` -> the `out_indices` stage outputs, `(N, C_i, T_i, H_i, W_i)` each."""
        x = self.maxpool(self.conv1(x))
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i == 0 and self.with_pool2:
                x = self.pool2(x)
            if i in self.out_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _frozen_modules(self) -> list[nn.Module]:
        stages = [getattr(self, f"layer{i}") for i in range(1, self.frozen_stages + 1)]
        return ([self.conv1] if self.frozen_stages >= 0 else []) + stages

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> ResNet3d:
        """Switch mode, keeping frozen stages and (`norm_eval`) BN layers in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if is_batch_norm(m):
                    m.eval()
        return self


# ---- 2D -> 3D inflation -----------------------------------------------------------------------------


def _names_2d(name: str) -> tuple[str, str]:
    """Conv and norm names in a 2D ImageNet ResNet for the 3D ConvModule called `name`."""
    if name.endswith("downsample"):
        return f"{name}.0", f"{name}.1"
    return name, re.sub(r"conv(\d+)$", r"bn\1", name)


def inflate_2d_weights(model: nn.Module, state_2d: StateDict, *, source: str) -> LoadReport:
    """Copy a 2D ResNet's weights into the matching 3D convs and norms of `model`.

    A 2D kernel `(O, I, kh, kw)` becomes `(O, I', kt, kh, kw)`: repeated `kt` times and divided by
    `kt`, so temporally constant input gives the 2D response; extra input channels (`I' > I`, from
    lateral connections) get zero weights. Lateral connections and (2+1)D convs are skipped.
    """
    own = model.state_dict()
    loaded: list[str] = []
    used: set[str] = set()
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
    for name, module in model.named_modules():
        if not isinstance(module, ConvModule) or "lateral" in name or not isinstance(module.conv, nn.Conv3d):
            continue
        conv_2d, bn_2d = _names_2d(name)
        key = f"{conv_2d}.weight"
        if key in state_2d:
            weight, target = state_2d[key], module.conv.weight
            if (
                weight.dim() == 4
                and weight.shape[0] == target.shape[0]
                and weight.shape[2:] == target.shape[3:]
                and weight.shape[1] <= target.shape[1]
            ):
                _inflate_conv(module.conv, weight)
                loaded.append(f"{name}.conv.weight")
                used.add(key)
            else:
                mismatched.append((key, tuple(weight.shape), tuple(target.shape)))
        if module.bn is not None:
            for part, tensor in (*module.bn.named_parameters(), *module.bn.named_buffers()):
                key = f"{bn_2d}.{part}"
                if key in state_2d and state_2d[key].shape == tensor.shape:
                    with torch.no_grad():
                        tensor.copy_(state_2d[key])
                    loaded.append(f"{name}.bn.{part}")
                    used.add(key)
    mismatched_keys = {k for k, _, _ in mismatched}
    done = set(loaded)
    report = LoadReport(
        source=f"{source} (inflated 2D -> 3D)",
        loaded=tuple(loaded),
        missing=tuple(k for k in own if k not in done and not k.endswith("num_batches_tracked")),
        unexpected=tuple(k for k in state_2d if k not in used and k not in mismatched_keys),
        mismatched=tuple(mismatched),
    )
    report.log(log)
    return report


def _inflate_conv(conv3d: nn.Conv3d, weight_2d: torch.Tensor) -> None:
    weight = weight_2d.to(conv3d.weight.dtype)
    extra = conv3d.weight.shape[1] - weight.shape[1]
    if extra:
        weight = torch.cat([weight, weight.new_zeros((weight.shape[0], extra, *weight.shape[2:]))], dim=1)
    kernel_t = conv3d.weight.shape[2]
    with torch.no_grad():
        conv3d.weight.copy_(weight.unsqueeze(2).expand_as(conv3d.weight) / kernel_t)
