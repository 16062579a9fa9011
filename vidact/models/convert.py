"""MMAction checkpoints into vidact models: safe reading, key renaming as data, shape checks.

Each recognizer family has a table of rename rules (regular expressions applied in order to the
keys under one prefix); `map_state_dict` applies them and checks every key and shape against the
model, so a checkpoint either maps completely or fails with the keys that did not.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vidact.errors import CheckpointError, InputError

StateDict = dict[str, torch.Tensor]
log = logging.getLogger(__name__)


class CheckpointImportError(CheckpointError, InputError):
    """An MMAction checkpoint cannot be read or does not map onto the recipe's model (exit 2)."""


@dataclass(frozen=True)
class RenameRule:
    """Rename the keys under `prefix` matching `pattern` (a regex on the key without the prefix)."""

    pattern: str
    replacement: str
    why: str


# MMAction wraps every 2D conv with its norm in a ConvModule (`conv1.conv`, `conv1.bn`), TSM wraps
# the shifted conv or block once more (`.net`) and a block carrying a non-local module (`.block.`);
# our 2D ResNet keeps the torchvision layout (`conv1`, `bn1`, `downsample.0/1`).
RESNET2D_RULES: tuple[RenameRule, ...] = (
    RenameRule(r"\.net\.", ".", "TSM's shift wrapper: `conv1.conv.net`, or `layerX.Y.net` (shift_place='block')"),
    RenameRule(r"^(layer\d+\.\d+)\.block\.", r"\1.", "TSM's non-local wrapper around a block"),
    RenameRule(r"\.downsample\.conv\.", ".downsample.0.", "shortcut conv"),
    RenameRule(r"\.downsample\.bn\.", ".downsample.1.", "shortcut norm"),
    RenameRule(r"(^|\.)conv(\d)\.conv\.", r"\1conv\2.", "ConvModule conv -> convN"),
    RenameRule(r"(^|\.)conv(\d)\.bn\.", r"\1bn\2.", "ConvModule norm -> bnN"),
)

# The 3D backbones and all heads already use MMAction's names.
BACKBONE_RULES: dict[str, tuple[RenameRule, ...]] = {
    "ResNet": RESNET2D_RULES,
    "ResNetTSM": RESNET2D_RULES,
    "ResNet3d": (),
    "ResNet3dSlowOnly": (),
    "ResNet3dSlowFast": (),
    "ResNet2Plus1d": (),
    "ResNet3dCSN": (),
}
HEAD_RULES: dict[str, tuple[RenameRule, ...]] = {
    "TSNHead": (),
    "TSMHead": (),
    "I3DHead": (),
    "SlowFastHead": (),
}
FAMILIES: dict[str, tuple[str, str]] = {
    "TSN": ("ResNet", "TSNHead"),
    "TSM": ("ResNetTSM", "TSMHead"),
    "I3D": ("ResNet3d", "I3DHead"),
    "R(2+1)D": ("ResNet2Plus1d", "I3DHead"),
    "SlowOnly": ("ResNet3dSlowOnly", "I3DHead"),
    "SlowFast": ("ResNet3dSlowFast", "SlowFastHead"),
    "CSN": ("ResNet3dCSN", "I3DHead"),
}
"""Recognizer family -> (backbone type, head type) as the MMAction2 configs build them."""

# buffers MMAction saves that hold no weights of ours (1.x keeps the normalisation in the model;
# vidact's pipeline's Normalize step does it)
IGNORED_PREFIXES: tuple[str, ...] = ("data_preprocessor.",)
_SHOWN = 10


def rename_keys(state: Mapping[str, torch.Tensor], prefix: str, rules: tuple[RenameRule, ...]) -> StateDict:
    """Apply `rules` in order to every key under `prefix` (other keys unchanged)."""
    compiled = [(re.compile(rule.pattern), rule.replacement) for rule in rules]
    out: StateDict = {}
    for key, value in state.items():
        if key.startswith(prefix) and compiled:
            name = key[len(prefix) :]
            for pattern, replacement in compiled:
                name = pattern.sub(replacement, name)
            key = prefix + name
        out[key] = value
    return out


def mmaction_to_vidact(state: Mapping[str, torch.Tensor], backbone_type: str, head_type: str) -> StateDict:
    """Rename a whole MMAction recognizer state dict (`backbone.*`, `cls_head.*`) to vidact's names.

    Raises:
        CheckpointImportError: a backbone or head type without a rename table.
    """
    for kind, name, table in (("backbone", backbone_type, BACKBONE_RULES), ("head", head_type, HEAD_RULES)):
        if name not in table:
            raise CheckpointImportError(
                f"no MMAction key mapping for {kind} {name!r}; mapped: {', '.join(sorted(table))}"
            )
    state = rename_keys(state, "backbone.", BACKBONE_RULES[backbone_type])
    return rename_keys(state, "cls_head.", HEAD_RULES[head_type])


# ---- reading -----------------------------------------------------------------------------------


def read_checkpoint_file(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with `weights_only=True`; never runs pickled code.

    MMAction2 1.x saves logging objects (`message_hub` history buffers, numpy scalars) beside the
    weights. Those globals are read as inert placeholders (`PickledObject`: the name and arguments
    kept as data, nothing imported or called), with a warning naming them; the tensors are unaffected.

    Raises:
        CheckpointImportError: missing, truncated or corrupt file, or one whose pickled objects cannot
            be replaced by placeholders.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointImportError(f"{path}: no such checkpoint file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt zip, EOF, UnpicklingError for non-weights globals ...
        if not _is_unsupported_global(exc):
            raise _read_error(path, exc) from None
        data = _load_with_placeholders(path, exc)
    if not isinstance(data, Mapping):
        raise CheckpointImportError(f"{path}: not a checkpoint (a {type(data).__name__}, expected a dict)")
    return dict(data)


class PickledObject:
    """Stands in for an object a checkpoint pickled (a class or a function call): keeps the
    arguments and state as data and runs nothing."""

    qualname = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> PickledObject:
        obj = object.__new__(cls)
        obj.args = args
        obj.state = None
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<pickled {self.qualname}, not loaded>"


def _placeholder(qualname: str) -> type:
    return type("PickledObject", (PickledObject,), {"qualname": qualname, "__module__": __name__})


def _is_unsupported_global(exc: BaseException) -> bool:
    text = str(exc)
    return "Unsupported global" in text or "Unsupported operand" in text or "weights_only" in text


def _load_with_placeholders(path: Path, first: BaseException) -> Any:
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # the archive itself is broken
        raise _read_error(path, first) from None
    try:
        with torch.serialization.safe_globals([(_placeholder(name), name) for name in names]):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        shown = ", ".join(names[:5]) or "objects that are not tensors or plain values"
        raise CheckpointImportError(
            f"{path}: holds pickled Python objects ({shown}) that cannot be read without running them "
            f"({_first_line(exc)})",
            hint="in the environment that wrote it, re-save only the weights: "
            "torch.save(torch.load(path)['state_dict'], 'weights.pth')",
        ) from None
    log.warning("%s: pickled objects read as inert placeholders, not run: %s", path, ", ".join(names))
    return data


def _first_line(exc: BaseException) -> str:
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return first.split(". ")[0][:160]  # torch appends paragraphs of generic advice


def _read_error(path: Path, exc: BaseException) -> CheckpointImportError:
    return CheckpointImportError(f"{path}: truncated or corrupt checkpoint ({_first_line(exc)})")


def mmaction_state_dict(checkpoint: Mapping[str, Any], source: str) -> StateDict:
    """The tensors of an MMAction checkpoint: `checkpoint['state_dict']` (0.x and 1.x) or a bare state
    dict; DDP `module.` prefixes stripped.

    Raises:
        CheckpointImportError: no tensors inside.
    """
    state = checkpoint.get("state_dict", checkpoint)
    if not isinstance(state, Mapping):
        raise CheckpointImportError(f"{source}: 'state_dict' is a {type(state).__name__}, not a mapping")
    tensors = {str(k): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointImportError(f"{source}: no weights inside (no mapping of names to tensors)")
    return {k[len("module.") :] if k.startswith("module.") else k: v for k, v in tensors.items()}


def is_vidact_checkpoint(checkpoint: Mapping[str, Any]) -> bool:
    """True for a file written by `vidact.engine.checkpoint.save_checkpoint` (it has `format`)."""
    return "format" in checkpoint and isinstance(checkpoint.get("state_dict"), Mapping)


# ---- matching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    """What mapping a checkpoint onto a model found.

    Attributes:
        source: the checkpoint file.
        loaded: model keys that received a tensor.
        missing: model keys the checkpoint has no tensor for.
        unexpected: checkpoint keys (after renaming) the model has no place for.
        ignored: checkpoint keys that hold no weights of ours (`data_preprocessor.*`).
        renamed: how many keys the rename rules changed.
    """

    source: str
    loaded: tuple[str, ...]
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    ignored: tuple[str, ...] = ()
    renamed: int = 0

    @property
    def complete(self) -> bool:
        """Every model key loaded and every checkpoint key used."""
        return not (self.missing or self.unexpected)

    def counts(self) -> dict[str, int]:
        """Loaded tensors per top-level module (`backbone`, `cls_head`, ...)."""
        return dict(Counter(key.split(".", 1)[0] for key in self.loaded))

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "source": self.source,
            "loaded": len(self.loaded),
            "per_module": self.counts(),
            "renamed": self.renamed,
            "missing": list(self.missing),
            "unexpected": list(self.unexpected),
            "ignored": list(self.ignored),
        }


def map_state_dict(
    state: Mapping[str, torch.Tensor],
    model: nn.Module,
    *,
    backbone_type: str,
    head_type: str,
    source: str,
    allow_partial: bool = False,
) -> tuple[StateDict, ImportReport]:
    """Rename an MMAction state dict to `model`'s names and check every key and shape.

    Returns:
        The renamed tensors that fit (ready for `load_state_dict(strict=not allow_partial)`) and
        the report.

    Raises:
        CheckpointImportError: number of classes differs (naming both and the `--set` that fixes
            it); other shapes differ or nothing matches (another architecture); keys unmatched on
            either side unless `allow_partial`.
    """
    ignored = tuple(k for k in state if k.startswith(IGNORED_PREFIXES))
    kept = {k: v for k, v in state.items() if not k.startswith(IGNORED_PREFIXES)}
    renamed = mmaction_to_vidact(kept, backbone_type, head_type)
    changed = sum(a != b for a, b in zip(kept, renamed))
    own = model.state_dict()
    _check_num_classes(renamed, own, source)
    shared = [k for k in renamed if k in own]
    if not shared:
        raise CheckpointImportError(
            f"{source}: no key matches the recipe's {backbone_type} + {head_type} model "
            f"(checkpoint keys like {_show(list(renamed)[:3])}): a checkpoint of another architecture?"
        )
    mismatched = [f"{k} {list(renamed[k].shape)} vs model {list(own[k].shape)}"
                  for k in shared if renamed[k].shape != own[k].shape]  # fmt: skip
    if mismatched:
        raise CheckpointImportError(
            f"{source}: {len(mismatched)} tensor shape(s) differ from the recipe's model, another "
            f"architecture or depth? {_show(mismatched, 3)}"
        )
    report = ImportReport(
        source=source,
        loaded=tuple(shared),
        missing=tuple(k for k in own if k not in renamed),
        unexpected=tuple(k for k in renamed if k not in own),
        ignored=ignored,
        renamed=changed,
    )
    if not report.complete and not allow_partial:
        parts = []
        if report.missing:
            parts.append(f"missing in checkpoint ({len(report.missing)}): {_show(report.missing)}")
        if report.unexpected:
            parts.append(f"not in the model ({len(report.unexpected)}): {_show(report.unexpected)}")
        raise CheckpointImportError(
            f"{source}: keys unmatched; " + "; ".join(parts),
            hint="check the recipe matches the checkpoint's config, or pass --allow-partial",
        )
    return {k: renamed[k] for k in shared}, report


def _check_num_classes(renamed: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor], source: str) -> None:
    key = "cls_head.fc_cls.weight"
    if key in renamed and key in own and renamed[key].ndim == 2 and own[key].ndim == 2:
        theirs, ours = renamed[key].shape[0], own[key].shape[0]
        if theirs != ours and renamed[key].shape[1] == own[key].shape[1]:
            raise CheckpointImportError(
                f"{source}: the checkpoint has {theirs} classes, the recipe {ours}",
                hint=f"add --set model.cls_head.num_classes={theirs}",
            )


def _show(items: Any, limit: int = _SHOWN) -> str:
    items = list(items)
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f", ... (+{more} more)" if more > 0 else "")


def load_mmaction_weights(
    model: nn.Module,
    checkpoint: Mapping[str, Any],
    *,
    backbone_type: str,
    head_type: str,
    source: str,
    allow_partial: bool = False,
) -> ImportReport:
    """Map an MMAction checkpoint (already read) onto `model` and load it."""
    state = mmaction_state_dict(checkpoint, source)
    tensors, report = map_state_dict(
        state, model, backbone_type=backbone_type, head_type=head_type, source=source, allow_partial=allow_partial
    )
    model.load_state_dict(tensors, strict=not allow_partial)
    return report


def plain_meta(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The plain (str/number/bool) entries of an MMAction checkpoint's `meta`, for provenance."""
    meta = checkpoint.get("meta")
    if not isinstance(meta, Mapping):
        return {}
    return {str(k): v for k, v in meta.items() if isinstance(v, (str, int, float, bool)) and k != "config"}
