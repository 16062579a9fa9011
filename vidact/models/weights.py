"""Load `pretrained` weight files into a module and report what did not match.

Files are read with `torch.load(..., weights_only=True)` from the local disk only; a load never
fails on a missing, unexpected or differently-shaped key: it skips it and logs one report instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from vidact.errors import CheckpointError

log = logging.getLogger(__name__)

StateDict = dict[str, torch.Tensor]

_WRAPPER_KEYS = ("state_dict", "model")
_REPORT_LIMIT = 12


def read_state_dict(path: str | Path) -> StateDict:
    """Read a weight file: a bare state dict or one under `state_dict` / `model` (DDP `module.`
    prefixes stripped).

    Raises:
        CheckpointError: the file is missing, unreadable, or holds no tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: pretrained weight file not found")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or non-weights files
        raise CheckpointError(f"{path}: cannot read weights ({type(exc).__name__}: {exc})") from None
    for key in _WRAPPER_KEYS:
        if isinstance(data, Mapping) and isinstance(data.get(key), Mapping):
            data = data[key]
            break
    if not isinstance(data, Mapping) or not any(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path}: no state dict (a mapping of parameter names to tensors) inside")
    state = {str(k): v for k, v in data.items() if isinstance(v, torch.Tensor)}
    return strip_prefix(state, "module.")


def strip_prefix(state: Mapping[str, torch.Tensor], prefix: str) -> StateDict:
    """Drop `prefix` from every key that has it; keys without it stay as they are."""
    return {k[len(prefix) :] if k.startswith(prefix) else k: v for k, v in state.items()}


def select_prefix(state: Mapping[str, torch.Tensor], prefix: str) -> StateDict:
    """The entries under `prefix` (without it) when there are any, else the state unchanged.

    Lets a whole recognizer checkpoint (`backbone.layer1...`, `cls_head.fc_cls...`) initialise a backbone.
    """
    picked = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    return picked or dict(state)


@dataclass(frozen=True)
class LoadReport:
    """What a non-strict load did.

    Attributes:
        source: the file the weights came from.
        loaded: model keys that received a tensor.
        missing: model keys the file has no tensor for (left at their initial values).
        unexpected: file keys the model has no place for (ignored).
        mismatched: `(key, file shape, model shape)` for tensors skipped because the shapes differ.
    """

    source: str
    loaded: tuple[str, ...]
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    mismatched: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = ()

    @property
    def clean(self) -> bool:
        """True when every model key loaded and every file key was used."""
        return not (self.missing or self.unexpected or self.mismatched)

    def log(self, logger: logging.Logger = log) -> None:
        """INFO line with the count; one WARNING listing every kind of mismatch when there are any."""
        logger.info("loaded %d tensors from %s", len(self.loaded), self.source)
        if self.clean:
            return
        lines = [f"{self.source}: weights loaded with differences"]
        if self.missing:
            lines.append(f"  missing in file ({len(self.missing)}): {_shorten(self.missing)}")
        if self.unexpected:
            lines.append(f"  unexpected in file ({len(self.unexpected)}): {_shorten(self.unexpected)}")
        if self.mismatched:
            shapes = [f"{k} {list(a)} vs model {list(b)}" for k, a, b in self.mismatched]
            lines.append(f"  shape mismatch, skipped ({len(shapes)}): {_shorten(shapes)}")
        logger.warning("\n".join(lines))


def _shorten(items: tuple[str, ...] | list[str]) -> str:
    shown = ", ".join(items[:_REPORT_LIMIT])
    more = len(items) - _REPORT_LIMIT
    return f"{shown}, ... (+{more} more)" if more > 0 else shown


def load_state_dict_report(
    module: nn.Module, state: Mapping[str, torch.Tensor], *, source: str, logger: logging.Logger = log
) -> LoadReport:
    """Copy the matching tensors of `state` into `module` and log a `LoadReport` of the rest."""
    own = module.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    mismatched = tuple(
        (k, tuple(v.shape), tuple(own[k].shape)) for k, v in state.items() if k in own and k not in usable
    )
    result = module.load_state_dict(usable, strict=False)
    skipped = {key for key, _, _ in mismatched}
    report = LoadReport(
        source=source,
        loaded=tuple(k for k in own if k in usable),
        missing=tuple(k for k in result.missing_keys if k not in skipped),
        unexpected=tuple(k for k in state if k not in own),
        mismatched=mismatched,
    )
    report.log(logger)
    return report


def load_pretrained(
    module: nn.Module,
    path: str | Path,
    *,
    convert: Callable[[StateDict], StateDict] | None = None,
    logger: logging.Logger = log,
) -> LoadReport:
    """Read `path`, keep its `backbone.` part when it is a whole-model checkpoint, optionally
    rename keys with `convert`, and load it non-strictly with a logged report."""
    state = select_prefix(read_state_dict(path), "backbone.")
    if convert is not None:
        state = convert(state)
    return load_state_dict_report(module, state, source=str(path), logger=logger)
