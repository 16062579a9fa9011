"""R(2+1)D (Tran et al. 2018): a 3D ResNet whose convs are (2+1)D, trained from scratch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from vidact.models.backbones.resnet import StageFlags, Style
from vidact.models.backbones.resnet3d import InflateStyle, ResNet3d
from vidact.models.common.layers import BN3D, CONV3D, RELU_INPLACE, LayerCfg
from vidact.models.registry import BACKBONES


@BACKBONES.register()
class ResNet2Plus1d(ResNet3d):
    """`ResNet3d` built with `conv_cfg={"type": "Conv2plus1d"}` and without pool2 (the reference skips
    it whatever `with_pool2` says). It cannot inflate 2D weights, so `pretrained2d` must be False;
    both must be passed explicitly since the defaults are those of `ResNet3d`, as in the spec.

    Input `x: (N, C, T, H, W)`. Arguments as `ResNet3d`.
    """

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
        if pretrained2d:
            raise ValueError("ResNet2Plus1d cannot inflate 2D weights: pass pretrained2d=False")
        if conv_cfg.get("type") != "Conv2plus1d":
            raise ValueError(
                f"ResNet2Plus1d needs conv_cfg={{'type': 'Conv2plus1d'}}, got {dict(conv_cfg)!r}"
            )
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

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """`x: (N, C, T, H, W)` -> the `out_indices` stage outputs (no temporal pool after stage 1)."""
        x = self.maxpool(self.conv1(x))
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)
