"""The (2+1)D convolution of R(2+1)D: a spatial 1xkxk conv, norm, ReLU, then a temporal tx1x1 conv."""

from __future__ import annotations

import torch
from torch import nn

from vidact.models.common.layers import BN3D, LayerCfg, build_norm_layer, constant_init, kaiming_init


def _triple(value: int | tuple[int, ...]) -> tuple[int, int, int]:
    if isinstance(value, int):
        return (value, value, value)
    if len(value) != 3:
        raise ValueError(f"expected an int or 3 values (t, h, w), got {value!r}")
    return (value[0], value[1], value[2])


def mid_channels(in_channels: int, out_channels: int, kernel_size: tuple[int, int, int]) -> int:
    """Width between the spatial and temporal convs, chosen so the parameter count matches a full
    t x k x k conv (Tran et al. 2018). The temporal size is fixed at 3, as in the reference, so
    checkpoints trained with it keep their shapes whatever `kernel_size[0]` is."""
    spatial = kernel_size[1] * kernel_size[2]
    return int(3 * in_channels * out_channels * spatial / (in_channels * spatial + 3 * out_channels))


class Conv2plus1d(nn.Module):
    """A t x h x w convolution factorised into `conv_s` (1 x h x w) and `conv_t` (t x 1 x 1).

    `x: (N, C_in, T, H, W)` -> `(N, C_out, T', H', W')`, with the same output size as the full 3D conv.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        *,
        stride: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = True,
        norm_cfg: LayerCfg = BN3D,
    ) -> None:
        super().__init__()
        if groups != 1:
            raise ValueError("Conv2plus1d does not support grouped convolutions")
        kernel, strides, pads, dilations = (_triple(v) for v in (kernel_size, stride, padding, dilation))
        mid = mid_channels(in_channels, out_channels, kernel)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.conv_s = nn.Conv3d(
            in_channels,
            mid,
            kernel_size=(1, kernel[1], kernel[2]),
            stride=(1, strides[1], strides[2]),
            padding=(0, pads[1], pads[2]),
            dilation=(1, dilations[1], dilations[2]),
            bias=bias,
        )
        self.bn_s = build_norm_layer(norm_cfg, mid)
        self.relu = nn.ReLU(inplace=True)
        self.conv_t = nn.Conv3d(
            mid,
            out_channels,
            kernel_size=(kernel[0], 1, 1),
            stride=(strides[0], 1, 1),
            padding=(pads[0], 0, 0),
            dilation=(dilations[0], 1, 1),
            bias=bias,
        )
        self.init_weights()

    def init_weights(self) -> None:
        """He init for both convs, unit scale for the middle norm."""
        kaiming_init(self.conv_s)
        kaiming_init(self.conv_t)
        constant_init(self.bn_s, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x: (N, C_in, T, H, W)` -> `(N, C_out, T', H', W')`."""
        return self.conv_t(self.relu(self.bn_s(self.conv_s(x))))
