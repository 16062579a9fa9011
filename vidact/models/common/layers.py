"""Layers built from the reference's `conv_cfg` / `norm_cfg` / `act_cfg` mappings, a conv-norm-act
block whose state-dict names match the reference's checkpoints, and the shared weight initialisers.

The cfg arguments are plain mappings (`{"type": "BN3d", "requires_grad": True, "eps": 1e-3}`), the
same data a recipe's `norm_cfg:` holds; `build.py` turns the validated specs into such mappings.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import torch
from torch import nn

LayerCfg = Mapping[str, Any]
"""A layer setting as plain data: `type` plus that layer kind's options."""

CONV2D: LayerCfg = MappingProxyType({"type": "Conv"})
CONV3D: LayerCfg = MappingProxyType({"type": "Conv3d"})
BN2D: LayerCfg = MappingProxyType({"type": "BN2d", "requires_grad": True, "eps": 1e-5, "momentum": 0.1})
BN3D: LayerCfg = MappingProxyType({"type": "BN3d", "requires_grad": True, "eps": 1e-5, "momentum": 0.1})
RELU: LayerCfg = MappingProxyType({"type": "ReLU"})
RELU_INPLACE: LayerCfg = MappingProxyType({"type": "ReLU", "inplace": True})

_NORM_TYPES: dict[str, type[nn.Module]] = {
    "BN": nn.BatchNorm2d,
    "BN2d": nn.BatchNorm2d,
    "BN3d": nn.BatchNorm3d,
    "SyncBN": nn.SyncBatchNorm,
}
_CONV2D_TYPES = ("Conv", "Conv2d")


def _options(cfg: LayerCfg, allowed: tuple[str, ...], kind: str) -> dict[str, Any]:
    unknown = set(cfg) - {"type", *allowed}
    if unknown:
        raise ValueError(f"{kind} {cfg.get('type')!r}: unknown option(s) {sorted(unknown)}")
    return {k: v for k, v in cfg.items() if k != "type"}


def build_norm_layer(norm_cfg: LayerCfg, num_features: int) -> nn.Module:
    """A batch-norm layer from `norm_cfg` (`BN`/`BN2d`, `BN3d`, `SyncBN`); `requires_grad` freezes it."""
    kind = norm_cfg.get("type")
    if kind not in _NORM_TYPES:
        raise ValueError(f"unknown norm type {kind!r}; known: {', '.join(_NORM_TYPES)}")
    options = _options(norm_cfg, ("requires_grad", "eps", "momentum"), "norm")
    requires_grad = options.pop("requires_grad", True)
    layer = _NORM_TYPES[kind](num_features, **options)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return layer


def build_activation(act_cfg: LayerCfg) -> nn.Module:
    """The activation named by `act_cfg` (only `ReLU`, as in every reference recognizer)."""
    if act_cfg.get("type") != "ReLU":
        raise ValueError(f"unknown activation type {act_cfg.get('type')!r}; known: ReLU")
    return nn.ReLU(**_options(act_cfg, ("inplace",), "activation"))


def build_conv_layer(
    conv_cfg: LayerCfg,
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, ...],
    *,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
    bias: bool = True,
) -> nn.Module:
    """A convolution from `conv_cfg`: `Conv`/`Conv2d`, `Conv3d` or `Conv2plus1d`."""
    from vidact.models.common.conv2plus1d import Conv2plus1d

    kind = conv_cfg.get("type")
    _options(conv_cfg, (), "conv")
    if kind in _CONV2D_TYPES:
        cls: type[nn.Module] = nn.Conv2d
    elif kind == "Conv3d":
        cls = nn.Conv3d
    elif kind == "Conv2plus1d":
        cls = Conv2plus1d
    else:
        raise ValueError(f"unknown conv type {kind!r}; known: Conv, Conv2d, Conv3d, Conv2plus1d")
    return cls(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bias,
    )


class ConvModule(nn.Module):
    """conv -> norm -> activation, with the submodule names `conv`, `bn` of the reference checkpoints.

    Args:
        bias: None means "no bias when a norm layer follows" (the reference's `bias='auto'`).
        norm_cfg: None for no normalisation.
        act_cfg: None for no activation.
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
        bias: bool | None = None,
        conv_cfg: LayerCfg = CONV3D,
        norm_cfg: LayerCfg | None = None,
        act_cfg: LayerCfg | None = RELU,
    ) -> None:
        super().__init__()
        self.conv = build_conv_layer(
            conv_cfg,
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=(norm_cfg is None) if bias is None else bias,
        )
        self.bn = build_norm_layer(norm_cfg, out_channels) if norm_cfg is not None else None
        self.activate = build_activation(act_cfg) if act_cfg is not None else None
        if not hasattr(self.conv, "init_weights"):
            kaiming_init(self.conv)
        if self.bn is not None:
            constant_init(self.bn, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply conv, then norm and activation when present."""
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.activate is not None:
            x = self.activate(x)
        return x


# ---- initialisers (the reference's kaiming_init / constant_init / normal_init) -------------------


def kaiming_init(module: nn.Module) -> None:
    """He-normal weights (fan_out, ReLU gain) and zero bias, as the reference initialises convs."""
    weight = getattr(module, "weight", None)
    if weight is not None:
        nn.init.kaiming_normal_(weight, mode="fan_out", nonlinearity="relu")
    bias = getattr(module, "bias", None)
    if bias is not None:
        nn.init.zeros_(bias)


def constant_init(module: nn.Module, value: float, bias: float = 0.0) -> None:
    """Fill the weight with `value` and the bias with `bias` (norm layers)."""
    if getattr(module, "weight", None) is not None:
        nn.init.constant_(module.weight, value)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def normal_init(module: nn.Module, std: float, bias: float = 0.0) -> None:
    """Normal(0, std) weights and a constant bias (classifier layers)."""
    nn.init.normal_(module.weight, 0.0, std)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def is_batch_norm(module: nn.Module) -> bool:
    """True for every BatchNorm flavour (1d/2d/3d/sync)."""
    return isinstance(module, nn.modules.batchnorm._BatchNorm)


def to_channels_last(module: nn.Module) -> nn.Module:
    """Store every 4D weight channels-last and every 5D weight channels-last-3d, in place.

    `module.to(memory_format=torch.channels_last)` refuses models that mix 2D and 3D convs (TSM with
    non-local blocks); this converts each weight by its own rank. Returns `module`.
    """
    formats = {4: torch.channels_last, 5: torch.channels_last_3d}
    for param in module.parameters():
        if param.dim() in formats:
            param.data = param.data.contiguous(memory_format=formats[param.dim()])
    return module
