"""SlowOnly: the slow pathway of SlowFast on its own (1x7x7 stem, temporal kernels in stages 3-4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vidact.models.backbones.resnet import StageFlags, Style
from vidact.models.backbones.resnet3d import InflateStyle
from vidact.models.backbones.resnet3d_slowfast import ResNet3dPathway
from vidact.models.common.layers import BN3D, CONV3D, RELU_INPLACE, LayerCfg
from vidact.models.registry import BACKBONES


@BACKBONES.register()
class ResNet3dSlowOnly(ResNet3dPathway):
    """`ResNet3dPathway` without laterals, on clips `x: (N, C, T, H, W)`.

    Defaults follow the reference's SlowOnly: no temporal stride in the stem, inflation only in
    stages 3 and 4, and no pool2 (`with_pool2=False`; note the recipe spec currently defaults it
    to true). Arguments as `ResNet3dPathway`; `lateral` must stay False.
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
        conv1_kernel: Sequence[int] = (1, 7, 7),
        conv1_stride_t: int = 1,
        pool1_stride_t: int = 1,
        with_pool2: bool = False,
        style: Style = "pytorch",
        frozen_stages: int = -1,
        inflate: StageFlags = (0, 0, 1, 1),
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
        if lateral:
            raise ValueError("ResNet3dSlowOnly has no fast pathway to connect: lateral must be False")
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
            lateral=lateral,
            speed_ratio=speed_ratio,
            channel_ratio=channel_ratio,
            fusion_kernel=fusion_kernel,
        )
