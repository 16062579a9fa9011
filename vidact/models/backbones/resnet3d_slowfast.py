"""SlowFast (Feichtenhofer et al. 2019): a slow, wide pathway on few frames and a fast, thin one on
many, with lateral connections carrying fast features into the slow pathway after each stage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vidact.models.backbones.resnet import StageFlags, Style
from vidact.models.backbones.resnet3d import InflateStyle, ResNet3d
from vidact.models.common.layers import BN3D, CONV3D, RELU_INPLACE, ConvModule, LayerCfg
from vidact.models.registry import BACKBONES
from vidact.models.weights import LoadReport, load_pretrained


class ResNet3dPathway(ResNet3d):
    """One SlowFast pathway: a `ResNet3d` that, with `lateral`, receives fast-pathway features.

    The lateral convs (`conv1_lateral`, `layer{i}_lateral`) map the fast features (`C / channel_ratio`
    channels, `speed_ratio` times more frames) to `2 * C / channel_ratio` channels at the slow frame
    rate; the first block of each following stage takes the concatenation.

    Args:
        lateral: build the lateral connections (slow pathway).
        speed_ratio: fast frames per slow frame (alpha).
        channel_ratio: slow channels per fast channel (1 / beta).
        fusion_kernel: temporal kernel of the lateral convs.
        Others: as `ResNet3d` (`pretrained` defaults to None).
    """

    def __init__(
        self,
        *,
        depth: int,
        pretrained: str | None = None,
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
        lateral: bool = False,
        speed_ratio: int = 8,
        channel_ratio: int = 8,
        fusion_kernel: int = 5,
    ) -> None:
        # Read by the construction hooks (`_lateral_inplanes`, `_add_extra_layers`) that
        # ResNet3d.__init__ calls, so they are set first; plain values are fine before Module.__init__.
        self.lateral = lateral
        self.speed_ratio = speed_ratio
        self.channel_ratio = channel_ratio
        self.fusion_kernel = fusion_kernel
        super().__init__(
            depth=depth,
            pretrained=pretrained,
            pretrained2d=pretrained2d,
            in_channels=in_channels,
            num_stages=num_stages,
            base_channels=base_channels,
            out_indices=out_indices,
            spatial_strides=spatial_strides,
            temporal_strides=temporal_strides,
            dilations=dilations,
            conv1_kernel=conv1_kernel,
            conv1_stride_t=conv1_stride_t,
            pool1_stride_t=pool1_stride_t,
            with_pool2=with_pool2,
            style=style,
            frozen_stages=frozen_stages,
            inflate=inflate,
            inflate_style=inflate_style,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            norm_eval=norm_eval,
            with_cp=with_cp,
            non_local=non_local,
            non_local_cfg=non_local_cfg,
            zero_init_residual=zero_init_residual,
        )

    def _lateral_inplanes(self, inplanes: int) -> int:
        return inplanes * 2 // self.channel_ratio if self.lateral else 0

    def _lateral_conv(self, slow_channels: int) -> ConvModule:
        return ConvModule(
            slow_channels // self.channel_ratio,
            slow_channels * 2 // self.channel_ratio,
            (self.fusion_kernel, 1, 1),
            stride=(self.speed_ratio, 1, 1),
            padding=((self.fusion_kernel - 1) // 2, 0, 0),
            bias=False,
            conv_cfg=self.conv_cfg,
            norm_cfg=None,
            act_cfg=None,
        )

    def _add_extra_layers(self) -> None:
        self.lateral_connections: list[str] = []
        if not self.lateral:
            return
        self.conv1_lateral = self._lateral_conv(self.base_channels)
        for i in range(len(self.stage_blocks) - 1):  # nothing to fuse after the last stage
            name = f"layer{i + 1}_lateral"
            self.add_module(name, self._lateral_conv(self.base_channels * 2**i * self.block.expansion))
            self.lateral_connections.append(name)

    def _frozen_modules(self) -> list[nn.Module]:
        frozen = super()._frozen_modules()
        count = min(max(self.frozen_stages, 0), len(self.lateral_connections))
        return frozen + [getattr(self, name) for name in self.lateral_connections[:count]]


def default_slow_pathway(*, speed_ratio: int = 8, channel_ratio: int = 8) -> ResNet3dPathway:
    """The reference's default slow pathway: ResNet-50, 1x7x7 stem, inflated stages 3-4, laterals."""
    return ResNet3dPathway(
        depth=50,
        pretrained=None,
        lateral=True,
        speed_ratio=speed_ratio,
        channel_ratio=channel_ratio,
        conv1_kernel=(1, 7, 7),
        dilations=(1, 1, 1, 1),
        conv1_stride_t=1,
        pool1_stride_t=1,
        inflate=(0, 0, 1, 1),
    )


def default_fast_pathway() -> ResNet3dPathway:
    """The reference's default fast pathway: ResNet-50 with 8 base channels, 5x7x7 stem."""
    return ResNet3dPathway(
        depth=50,
        pretrained=None,
        lateral=False,
        base_channels=8,
        conv1_kernel=(5, 7, 7),
        conv1_stride_t=1,
        pool1_stride_t=1,
    )


@BACKBONES.register()
class ResNet3dSlowFast(nn.Module):
    """Two-pathway backbone on clips `x: (N, C, T, H, W)`; returns `(x_slow, x_fast)`.

    The slow pathway sees every `resample_rate`-th frame, the fast one every
    `resample_rate // speed_ratio`-th.

    Args:
        pretrained: a whole-SlowFast weight file (keys `slow_path.*`, `fast_path.*`) or None; each
            pathway may also have its own `pretrained`.
        resample_rate: frame stride of the slow pathway (tau).
        speed_ratio: fast frames per slow frame (alpha); the slow pathway's laterals must agree.
        channel_ratio: slow channels per fast channel (1 / beta); likewise.
        slow_pathway, fast_pathway: built pathways; None gives the reference's ResNet-50 defaults.
    """

    def __init__(
        self,
        *,
        pretrained: str | None,
        resample_rate: int = 8,
        speed_ratio: int = 8,
        channel_ratio: int = 8,
        slow_pathway: ResNet3dPathway | None = None,
        fast_pathway: ResNet3dPathway | None = None,
    ) -> None:
        super().__init__()
        if resample_rate % speed_ratio:
            raise ValueError(
                f"resample_rate ({resample_rate}) must be a multiple of speed_ratio ({speed_ratio})"
            )
        slow = slow_pathway or default_slow_pathway(speed_ratio=speed_ratio, channel_ratio=channel_ratio)
        fast = fast_pathway or default_fast_pathway()
        if slow.lateral and (slow.speed_ratio, slow.channel_ratio) != (speed_ratio, channel_ratio):
            raise ValueError(
                f"slow pathway laterals use speed_ratio={slow.speed_ratio}, "
                f"channel_ratio={slow.channel_ratio}; the backbone has {speed_ratio}, {channel_ratio}"
            )
        if len(slow.res_layers) != len(fast.res_layers):
            raise ValueError("slow and fast pathways must have the same number of stages")
        self.pretrained = pretrained
        self.resample_rate = resample_rate
        self.speed_ratio = speed_ratio
        self.channel_ratio = channel_ratio
        self.slow_path = slow
        self.fast_path = fast
        self.load_report: LoadReport | None = None
        self.init_weights()

    def init_weights(self) -> None:
        """Each pathway initialises itself; a whole-model `pretrained` file then loads on top."""
        if self.pretrained:
            self.load_report = load_pretrained(self, self.pretrained)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`x: (N, C, T, H, W)` -> `(slow (N, C_s, T / tau, H', W'), fast (N, C_f, T alpha / tau, H', W'))`
        with tau = resample_rate, alpha = speed_ratio."""
        slow, fast = self.slow_path, self.fast_path
        x_slow = F.interpolate(x, mode="nearest", scale_factor=(1.0 / self.resample_rate, 1.0, 1.0))
        x_fast = F.interpolate(
            x, mode="nearest", scale_factor=(1.0 / (self.resample_rate // self.speed_ratio), 1.0, 1.0)
        )
        x_slow = slow.maxpool(slow.conv1(x_slow))
        x_fast = fast.maxpool(fast.conv1(x_fast))
        if slow.lateral:
            x_slow = torch.cat((x_slow, slow.conv1_lateral(x_fast)), dim=1)
        for i, name in enumerate(slow.res_layers):
            x_slow = getattr(slow, name)(x_slow)
            x_fast = getattr(fast, name)(x_fast)
            if slow.lateral and i < len(slow.lateral_connections):
                x_slow = torch.cat((x_slow, getattr(slow, slow.lateral_connections[i])(x_fast)), dim=1)
        return x_slow, x_fast
