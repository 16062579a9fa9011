"""ResNet with temporal shift modules (TSM, Lin et al. 2019) and optional non-local blocks.

The shift has no parameters and the non-local blocks hang off the residual blocks, so the state
dict is the ImageNet ResNet layout (plus `layerX.Y.non_local_block.*`): ImageNet checkpoints load
into a TSM directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from vidact.models.backbones.resnet import ResNet, StageFlags, Style, expand_stage_flags
from vidact.models.common.layers import BN2D, CONV2D, RELU_INPLACE, LayerCfg
from vidact.models.common.non_local import NonLocal3d
from vidact.models.registry import BACKBONES

ShiftPlace = Literal["block", "blockres"]


def temporal_shift(x: torch.Tensor, num_segments: int, shift_div: int) -> torch.Tensor:
    """Shift a fraction of the channels along time within each clip, zero-padding the ends.

    With `fold = C // shift_div`, channels `[0, fold)` of segment t take segment t+1's values (a
    step back in time; the last segment gets zeros), channels `[fold, 2 * fold)` take segment t-1's
    (the first gets zeros), the rest stay.

    Args:
        x: `(N * num_segments, C, H, W)`, segments of a clip consecutive.

    Returns:
        Same shape and memory format as `x`.
    """
    nt, c, h, w = x.shape
    if nt % num_segments:
        raise ValueError(f"temporal_shift: batch of {nt} frames is not a multiple of {num_segments} segments")
    clips = x.reshape(nt // num_segments, num_segments, c, h, w)
    fold = c // shift_div
    out = torch.zeros_like(clips)
    out[:, :-1, :fold] = clips[:, 1:, :fold]
    out[:, 1:, fold : 2 * fold] = clips[:, :-1, fold : 2 * fold]
    out[:, :, 2 * fold :] = clips[:, :, 2 * fold :]
    return out.reshape(nt, c, h, w)


def temporal_max_pool(x: torch.Tensor, num_segments: int) -> torch.Tensor:
    """Halve the segments of each clip with a size-3, stride-2 max pool over time.

    `x: (N * num_segments, C, H, W)` -> `(N * ceil(num_segments / 2), C, H, W)`.
    """
    nt, c, h, w = x.shape
    clips = x.reshape(nt // num_segments, num_segments, c, h, w).transpose(1, 2)
    pooled = F.max_pool3d(clips, kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))
    return pooled.transpose(1, 2).reshape(-1, c, h, w)


class TemporalShift(nn.Module):
    """Parameter-free module form of `temporal_shift`."""

    def __init__(self, num_segments: int, shift_div: int = 8) -> None:
        super().__init__()
        self.num_segments = num_segments
        self.shift_div = shift_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x: (N * num_segments, C, H, W)` -> same shape."""
        return temporal_shift(x, self.num_segments, self.shift_div)

    def extra_repr(self) -> str:
        return f"num_segments={self.num_segments}, shift_div={self.shift_div}"


@BACKBONES.register()
class ResNetTSM(ResNet):
    """ResNet whose blocks shift 1/shift_div of the channels one segment back and 1/shift_div forward.

    Input `x: (N * num_segments, C, H, W)`, the segments of each video consecutive.

    Args:
        num_segments: frames per video in the batch.
        is_shift: False gives a TSN backbone (with non-local blocks if asked).
        non_local: per stage, 0/1 for the whole stage or one flag per block.
        non_local_cfg: `NonLocal3d` options (`sub_sample`, `use_scale`, `norm_cfg`, `mode`, `reduction`).
        shift_div: 1/shift_div of the channels move each way.
        shift_place: 'blockres' shifts the residual branch only; 'block' the block input (identity too).
            With 'blockres', networks with 23+ blocks in stage 3 shift every other block, as the reference.
        temporal_pool: max-pool time by 2 before stage 2 (later stages see num_segments // 2).
        Others: as `ResNet`.
    """

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
        num_segments: int = 8,
        is_shift: bool = True,
        non_local: StageFlags = (0, 0, 0, 0),
        non_local_cfg: Mapping[str, Any] | None = None,
        shift_div: int = 8,
        shift_place: ShiftPlace = "blockres",
        temporal_pool: bool = False,
    ) -> None:
        super().__init__(
            depth=depth,
            pretrained=None,  # loaded below, once the non-local blocks exist
            torchvision_pretrain=torchvision_pretrain,
            in_channels=in_channels,
            num_stages=num_stages,
            out_indices=out_indices,
            strides=strides,
            dilations=dilations,
            style=style,
            frozen_stages=frozen_stages,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            norm_eval=norm_eval,
            partial_bn=partial_bn,
            with_cp=with_cp,
        )
        if shift_place not in ("block", "blockres"):
            raise ValueError(f"shift_place must be 'block' or 'blockres', got {shift_place!r}")
        if temporal_pool and num_segments % 2:
            raise ValueError(
                f"temporal_pool halves the segments: num_segments must be even, got {num_segments}"
            )
        self.pretrained = pretrained
        self.num_segments = num_segments
        self.is_shift = is_shift
        self.shift_div = shift_div
        self.shift_place = shift_place
        self.temporal_pool = temporal_pool
        self.non_local_cfg = dict(non_local_cfg or {})
        self.non_local_stages = expand_stage_flags(non_local, self.stage_blocks, "non_local")
        if is_shift:
            self._add_shifts()
        self._add_non_local()
        self._load_pretrained()
        self.train(self.training)

    def stage_segments(self, index: int) -> int:
        """Segments per clip seen by stage `index` (halved after stage 0 under temporal_pool)."""
        return self.num_segments // 2 if self.temporal_pool and index > 0 else self.num_segments

    def _add_shifts(self) -> None:
        every = (
            2
            if self.shift_place == "blockres" and len(self.stage_blocks) > 2 and self.stage_blocks[2] >= 23
            else 1
        )
        for i, name in enumerate(self.res_layers):
            for j, block in enumerate(getattr(self, name)):
                if j % every == 0:
                    block.shift = TemporalShift(self.stage_segments(i), self.shift_div)
                    block.shift_whole_block = self.shift_place == "block"

    def _add_non_local(self) -> None:
        for i, name in enumerate(self.res_layers):
            for block, flag in zip(getattr(self, name), self.non_local_stages[i]):
                if flag:
                    channels = (
                        block.conv3.out_channels if hasattr(block, "conv3") else block.conv2.out_channels
                    )
                    block.non_local_block = NonLocal3d(
                        channels, num_segments=self.stage_segments(i), **self.non_local_cfg
                    )

    def _init_random(self) -> None:
        super()._init_random()
        for m in self.modules():
            if isinstance(m, NonLocal3d):
                m.init_weights()

    def _stage_input(self, index: int, x: torch.Tensor) -> torch.Tensor:
        if self.temporal_pool and index == 1:
            return temporal_max_pool(x, self.num_segments)
        return x
