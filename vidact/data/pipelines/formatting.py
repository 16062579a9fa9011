"""Formatting steps: final array layout, tensor conversion and the keys handed to the model.

`DataContainer` stands in for mmcv's wrapper: it carries the `stack` / `cpu_only` / padding
flags a collate function needs to batch (or not batch) a field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vidact.arguments import check_names
from vidact.data import functional as F

DEFAULT_META_KEYS = (
    "filename",
    "label",
    "original_shape",
    "img_shape",
    "pad_shape",
    "flip_direction",
    "img_norm_cfg",
)


@dataclass
class DataContainer:
    """A field plus the batching hints for collate.

    Attributes:
        data: the wrapped value.
        stack: stack samples into one batch tensor (else keep a list).
        padding_value: fill value when stacking samples of different sizes.
        cpu_only: keep on the CPU (metadata), never moved to the device.
        pad_dims: number of trailing dims that may be padded (None: no padding).
    """

    data: Any
    stack: bool = False
    padding_value: float = 0
    cpu_only: bool = False
    pad_dims: int | None = 2


def to_tensor(data: Any) -> torch.Tensor:
    """Convert a tensor, array, sequence, int or float to a `torch.Tensor`.

    Arrays share memory (copied only when strides are negative); an int becomes a one-element
    int64 tensor and a float a one-element float32 tensor, as the reference.
    """
    if isinstance(data, torch.Tensor):
        return data
    if isinstance(data, np.ndarray):
        if any(s < 0 for s in data.strides):
            data = np.ascontiguousarray(data)
        return torch.from_numpy(data)
    if isinstance(data, Sequence) and not isinstance(data, str):
        return torch.tensor(data)
    if isinstance(data, (int, np.integer)) and not isinstance(data, bool):
        return torch.LongTensor([int(data)])
    if isinstance(data, float):
        return torch.FloatTensor([data])
    raise TypeError(f"type {type(data)} cannot be converted to tensor.")


class ToTensor:
    """Convert `results[key]` to a `torch.Tensor` for each key.

    Args:
        keys: keys to convert.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = check_names(keys, "ToTensor: keys")

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        for key in self.keys:
            results[key] = to_tensor(results[key])
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys={self.keys})"


class ImageToTensor:
    """Convert (H, W, C) images to (C, H, W) tensors.

    Args:
        keys: keys to convert.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = check_names(keys, "ImageToTensor: keys")

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        for key in self.keys:
            results[key] = to_tensor(results[key].transpose(2, 0, 1))
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys={self.keys})"


class Transpose:
    """Permute the axes of `results[key]` to `order` for each key.

    Args:
        keys: keys to transpose.
        order: the new axis order, as for `np.transpose`.
    """

    def __init__(self, keys: Sequence[str], order: Sequence[int]) -> None:
        self.keys = check_names(keys, "Transpose: keys")
        self.order = order

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        for key in self.keys:
            results[key] = results[key].transpose(self.order)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys={self.keys}, order={self.order})"


class ToDataContainer:
    """Wrap fields in `DataContainer`s, e.g. fields=({'key': 'gt_bbox', 'stack': False},).

    Args:
        fields: one mapping per field: "key" plus `DataContainer` attributes.
    """

    def __init__(self, fields: Sequence[Mapping[str, Any]]) -> None:
        self.fields = fields

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        for field in self.fields:
            attrs = dict(field)
            key = attrs.pop("key")
            results[key] = DataContainer(results[key], **attrs)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fields={self.fields})"


class Collect:
    """Keep only `keys`, plus the `meta_keys` gathered into one dict under `meta_name`.

    Usually the last step. The meta entry (a plain dict; collate keeps it per sample, unstacked)
    is added only when `meta_keys` is non-empty, and every meta key must be present.

    Args:
        keys: keys passed to the model as they are.
        meta_keys: keys gathered under `meta_name`.
        meta_name: name of the meta entry.
        nested: (later 0.x) wrap every collected value, the meta entry included, in a
            one-element list, as multi-view test pipelines expect.
    """

    def __init__(
        self,
        keys: Sequence[str],
        meta_keys: Sequence[str] = DEFAULT_META_KEYS,
        meta_name: str = "img_meta",
        nested: bool = False,
    ) -> None:
        check_names(keys, "Collect: keys")
        check_names(meta_keys, "Collect: meta_keys")
        self.keys = keys
        self.meta_keys = meta_keys
        self.meta_name = meta_name
        self.nested = nested

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        missing = [k for k in (*self.keys, *self.meta_keys) if k not in results]
        if missing:
            raise KeyError(
                f"Collect: results has no {missing}; available: {sorted(results)} "
                "(set meta_keys=[] or list only present keys)"
            )
        data = {key: results[key] for key in self.keys}
        if len(self.meta_keys) != 0:
            data[self.meta_name] = {key: results[key] for key in self.meta_keys}
        if self.nested:
            data = {key: [value] for key, value in data.items()}
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys={self.keys}, meta_keys={self.meta_keys}, nested={self.nested})"


class FormatShape:
    """Rearrange the (M, H, W, C) frames into the network's input layout.

    Required keys are "imgs", "num_clips", "clip_len" (and "num_proposals" for NPTCHW); added or
    modified keys are "imgs" and "input_shape". Layouts (M = crops x clips x clip_len):
    NCTHW -> (crops * clips, C, clip_len, H, W); NCHW -> (M, C, H, W); NCHW_Flow ->
    (crops * clips, clip_len * C, H, W); NPTCHW -> (proposals, clips * clip_len, C, H, W).

    Args:
        input_format: "NCTHW", "NCHW", "NCHW_Flow" or "NPTCHW".
    """

    def __init__(self, input_format: str) -> None:
        if input_format not in F.INPUT_FORMATS:
            raise ValueError(f"The input format {input_format} is invalid.")
        self.input_format = input_format

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        needed = {"NCHW": (), "NPTCHW": ("num_clips", "clip_len", "num_proposals")}.get(
            self.input_format, ("num_clips", "clip_len")
        )
        missing = [k for k in needed if k not in results]
        if missing:
            raise KeyError(f"FormatShape({self.input_format}): results has no {missing} (set by the sampling step)")
        imgs = F.format_shape(
            F.as_frames(results["imgs"]),
            self.input_format,
            num_clips=results.get("num_clips", 1),
            clip_len=results.get("clip_len", 1),
            num_proposals=results.get("num_proposals"),
        )
        results["imgs"] = imgs
        results["input_shape"] = imgs.shape
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(input_format='{self.input_format}')"
