"""Channel-separated 3D ResNet (CSN, Tran et al. 2019): bottlenecks whose 3x3x3 conv is depthwise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal

from torch import nn

from vidact.models.backbones.resnet import StageFlags, Style
from vidact.models.backbones.resnet3d import Bottleneck3d, InflateStyle, ResNet3d
from vidact.models.common.layers import CONV3D, RELU_INPLACE, ConvModule, LayerCfg, is_batch_norm
from vidact.models.registry import BACKBONES

BN3D_EPS3: LayerCfg = MappingProxyType({"type": "BN3d", "requires_grad": True, "eps": 1e-3, "momentum": 0.1})


class CSNBottleneck3d(Bottleneck3d):
    """Bottleneck whose middle conv is depthwise (`groups=planes`), state-dict names `conv2.0...`.

    'ip' (interaction-preserved) keeps a 1x1x1 conv before it (`conv2.0`, then `conv2.1`);
    'ir' (interaction-reduced) drops it.
    """

    def __init__(
        self, inplanes: int, planes: int, *, bottleneck_mode: Literal["ip", "ir"] = "ir", **kwargs: Any
    ) -> None:
        if bottleneck_mode not in ("ip", "ir"):
            raise ValueError(f"bottleneck_mode must be 'ip' or 'ir', got {bottleneck_mode!r}")
        # read by _middle_conv, which Bottleneck3d.__init__ calls (plain values may precede Module.__init__)
        self.bottleneck_mode = bottleneck_mode
        super().__init__(inplanes, planes, **kwargs)

    def _middle_conv(
        self,
        planes: int,
        *,
        kernel: tuple[int, int, int],
        stride: tuple[int, int, int],
        padding: tuple[int, int, int],
        dilation: tuple[int, int, int],
    ) -> nn.Module:
        depthwise = ConvModule(
            planes,
            planes,
            kernel,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=planes,
            bias=False,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )
        if self.bottleneck_mode == "ip":
            return nn.Sequential(nn.Conv3d(planes, planes, kernel_size=1, bias=False), depthwise)
        return nn.Sequential(depthwise)


@BACKBONES.register()
class ResNet3dCSN(ResNet3d):
    """ip-CSN / ir-CSN ResNet-50/101/152 on clips `x: (N, C, T, H, W)`.

    Args:
        bottleneck_mode: 'ip' or 'ir' (see `CSNBottleneck3d`).
        bn_frozen: with `norm_eval`, also stop the BN affine parameters' gradients.
        Others: as `ResNet3d`, with the CSN defaults (temporal strides 1, 2, 2, 2; 3x7x7 stem;
        BN eps 1e-3; '3x3x3' inflation).
    """

    arch_settings = {
        50: (CSNBottleneck3d, (3, 4, 6, 3)),
        101: (CSNBottleneck3d, (3, 4, 23, 3)),
        152: (CSNBottleneck3d, (3, 8, 36, 3)),
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
        temporal_strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        conv1_kernel: Sequence[int] = (3, 7, 7),
        conv1_stride_t: int = 1,
        pool1_stride_t: int = 1,
        with_pool2: bool = True,
        style: Style = "pytorch",
        frozen_stages: int = -1,
        inflate: StageFlags = (1, 1, 1, 1),
        inflate_style: InflateStyle = "3x3x3",
        conv_cfg: LayerCfg = CONV3D,
        norm_cfg: LayerCfg = BN3D_EPS3,
        act_cfg: LayerCfg = RELU_INPLACE,
        norm_eval: bool = False,
        with_cp: bool = False,
        non_local: StageFlags = (0, 0, 0, 0),
        non_local_cfg: Mapping[str, Any] | None = None,
        zero_init_residual: bool = True,
        bottleneck_mode: Literal["ip", "ir"] = "ir",
        bn_frozen: bool = False,
    ) -> None:
        # read by _block_kwargs while ResNet3d.__init__ builds the stages
        self.bottleneck_mode = bottleneck_mode
        self.bn_frozen = bn_frozen
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

    def _block_kwargs(self) -> dict[str, Any]:
        return {"bottleneck_mode": self.bottleneck_mode}

    def train(self, mode: bool = True) -> ResNet3dCSN:
        """As `ResNet3d.train`; with `norm_eval` and `bn_frozen` the BN parameters stop learning too."""
        super().train(mode)
        if mode and self.norm_eval and self.bn_frozen:
            for m in self.modules():
                if is_batch_norm(m):
                    for param in m.parameters():
                        param.requires_grad = False
        return self
