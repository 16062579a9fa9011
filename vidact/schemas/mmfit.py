"""Fit plain config dicts onto vidact's spec classes, keeping what a spec accepts and listing the rest.

Used by `vidact.schemas.mmimport`: a component dict whose `type` we build keeps the keys our spec
has; an unknown `type`, an unknown key or a value that could not be read is recorded as `Skipped`
with its config path, never guessed.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass
from typing import Any

from vidact.schemas.load import _is_model, _is_union, _strip, _tag_key, _tag_value
from vidact.schemas.mmconfig import Unsupported

DROP = object()
"""A value that is not carried over (already listed as skipped)."""


@dataclass(frozen=True)
class Skipped:
    """A config entry that was not translated."""

    path: str
    reason: str


@dataclass(frozen=True)
class Indexed:
    """A pipeline step with its original config path (steps move when PackActionInputs expands)."""

    value: Any
    where: str


class SpecFitter:
    """Collects what was translated and skipped while fitting values onto specs."""

    def __init__(self) -> None:
        self.translated: list[tuple[str, str]] = []
        self.skipped: list[Skipped] = []

    def skip(self, path: str, reason: str) -> object:
        """Record `path` as not translated; returns the drop marker."""
        self.skipped.append(Skipped(path, reason))
        return DROP

    def done(self, config_path: str, recipe_path: str) -> None:
        """Record that `config_path` became `recipe_path`."""
        self.translated.append((config_path, recipe_path))

    def fit(self, value: Any, annotation: Any, where: str) -> Any:
        """Keep what `annotation` (a spec, a union of specs, a list of them, or a plain type) accepts."""
        if isinstance(value, Indexed):
            value, where = value.value, value.where
        if isinstance(value, Unsupported):
            return self.skip(where, str(value))
        node = _strip(annotation)
        if _is_union(node) and isinstance(value, dict):
            members = [m for m in (_strip(a) for a in typing.get_args(node)) if _is_model(m)]
            tagged = [m for m in members if _tag_key(m)]
            if tagged:
                key = _tag_key(tagged[0])
                match = next((m for m in tagged if _tag_value(m) == value.get(key)), None)
                if match is None:
                    return self.skip(where, _unknown(key, value.get(key), [str(_tag_value(m)) for m in tagged]))
                node = match
            elif len(members) == 1:
                node = members[0]
        if _is_model(node) and isinstance(value, dict):
            return self._fit_model(value, node, where)
        origin = typing.get_origin(node)
        if origin in (tuple, list) and isinstance(value, (list, tuple)):
            args = typing.get_args(node)
            if len(args) == 2 and args[1] is Ellipsis or origin is list:
                items = [self.fit(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
                return [v for v in items if v is not DROP]
        return self._plain_value(value, where)

    def _fit_model(self, value: dict, model: Any, where: str) -> dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            path = f"{where}.{key}"
            if key not in model.model_fields:
                self.skip(path, f"not a setting of vidact's {_tag_value(model) or model.__name__}")
                continue
            if key in ("pretrained", "load_from") and isinstance(item, str) and "://" in item:
                self.skip(path, f"a URL ({item}): vidact never downloads; download it and --set {path}=FILE")
                out[key] = None
                continue
            fitted = self.fit(item, model.model_fields[key].annotation, path)
            if fitted is not DROP:
                out[key] = fitted
        return out

    def _plain_value(self, value: Any, where: str) -> Any:
        bad = first_unsupported(value)
        if bad is not None:
            return self.skip(where, str(bad))
        return plain(value)

def _unknown(key: str, name: Any, known: list[str]) -> str:
    text = f"{key} {name!r} has no vidact counterpart"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75) if isinstance(name, str) else []
    guess = close[0] if close else None
    if guess:
        return f"{text} (did you mean '{guess}'?)"
    return f"{text} (vidact has: {', '.join(sorted(known))})" if len(known) <= 8 else text

def first_unsupported(value: Any) -> Unsupported | None:
    """The first value inside `value` that could not be read, or None."""
    if isinstance(value, Unsupported):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    for item in items:
        bad = first_unsupported(item)
        if bad is not None:
            return bad
    return None

def plain(value: Any) -> Any:
    """Tuples -> lists (YAML has no tuples), recursively; `Indexed` unwrapped."""
    if isinstance(value, Indexed):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
