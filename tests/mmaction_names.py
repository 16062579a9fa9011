"""MMAction's names for our 2D ResNet keys, written out case by case (the inverse of the rename
rules in `vidact.models.convert`), to make MMAction-style checkpoints without MMAction2."""

from __future__ import annotations

import re


def to_mmaction_2d(key: str, tsm: bool) -> str:
    """vidact 2D recognizer key -> MMAction's (`backbone.conv1.weight` -> `backbone.conv1.conv.weight`)."""
    prefix, name = key.split(".", 1)
    if prefix != "backbone":
        return key
    if m := re.fullmatch(r"(conv|bn)1\.(\w+)", name):
        return f"backbone.conv1.{'conv' if m[1] == 'conv' else 'bn'}.{m[2]}"
    if m := re.fullmatch(r"(layer\d+\.\d+)\.downsample\.([01])\.(\w+)", name):
        return f"backbone.{m[1]}.downsample.{'conv' if m[2] == '0' else 'bn'}.{m[3]}"
    if m := re.fullmatch(r"(layer\d+\.\d+)\.conv(\d)\.(\w+)", name):
        shift = ".net" if tsm and m[2] == "1" else ""
        return f"backbone.{m[1]}.conv{m[2]}.conv{shift}.{m[3]}"
    if m := re.fullmatch(r"(layer\d+\.\d+)\.bn(\d)\.(\w+)", name):
        return f"backbone.{m[1]}.conv{m[2]}.bn.{m[3]}"
    raise AssertionError(f"unexpected 2D key {key}")
