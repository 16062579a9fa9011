"""Building blocks shared by the backbones: cfg-driven layers, (2+1)D conv, non-local block."""

from vidact.models.common.conv2plus1d import Conv2plus1d
from vidact.models.common.layers import (
    ConvModule,
    LayerCfg,
    build_activation,
    build_conv_layer,
    build_norm_layer,
    constant_init,
    kaiming_init,
    normal_init,
    to_channels_last,
)
from vidact.models.common.non_local import NonLocal3d

__all__ = [
    "Conv2plus1d",
    "ConvModule",
    "LayerCfg",
    "NonLocal3d",
    "build_activation",
    "build_conv_layer",
    "build_norm_layer",
    "constant_init",
    "kaiming_init",
    "normal_init",
    "to_channels_last",
]
