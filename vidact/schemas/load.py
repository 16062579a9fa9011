"""YAML recipe -> `base:` merge -> `--set` overrides -> validated `Recipe`, with readable errors.

Every problem found by validation is reported at once, each as `dotted.path[i].key: message`,
naming the base file a value came from when it was inherited:

    recipes/tsm_r50_kinetics400.yaml: invalid recipe (2 problems)
      data.train.pipeline[3].crop_size: expected an int or [w, h], got '224px'
      model.backbone.type: unknown 'ResNetTSN'; did you mean 'ResNetTSM'?
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import yaml
from pydantic import BaseModel, ValidationError

from vidact.errors import RecipeError
from vidact.registry import did_you_mean
from vidact.schemas._types import show_value

if TYPE_CHECKING:
    from vidact.schemas.recipe import Recipe

PathParts = tuple[str | int, ...]
Provenance = dict[PathParts, str]
"""Which file (or `--set`) each mapping key of the merged recipe came from; lists count as one value."""

SET_SOURCE = "--set"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a recipe.

    Attributes:
        path: dotted YAML path with `[i]` list indices; "" for the file as a whole.
        message: what is wrong, in recipe terms.
        source: the base file (or `--set`) the offending value came from, when not the recipe itself.
    """

    path: str
    message: str
    source: str | None = None

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text} (from {self.source})" if self.source else text


class RecipeProblems(RecipeError):
    """A recipe (or its `--set` options) has one or more problems, all listed in the message."""

    def __init__(self, subject: str, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines = "".join(f"\n  {p}" for p in self.problems)
        super().__init__(f"{subject} ({count} problem{'s' if count != 1 else ''}){lines}")


# ---- public API --------------------------------------------------------------------------------


def load_recipe_dict(path: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Read a recipe, merge its bases and apply `--set` overrides, without validating.

    Raises:
        RecipeError: unreadable file, YAML syntax error, bad `base:` entry or bad override.
    """
    merged, _ = _load_with_provenance(path, overrides)
    return merged


def load_recipe(path: str | Path, overrides: Iterable[str] = ()) -> Recipe:
    """Read, merge, override and validate a recipe.

    Args:
        path: the recipe YAML file; `base:` paths in it are relative to the file.
        overrides: `KEY.PATH=VALUE` strings (e.g. `data.train.pipeline[3].crop_size=256`); values
            are parsed as YAML, so `0.01`, `[1, 2]`, `true` and `null` keep their types.

    Raises:
        RecipeError: for any problem; validation failures raise `RecipeProblems` listing them all.
    """
    display = str(path)
    merged, provenance = _load_with_provenance(path, overrides)
    # Imported here, not at the top: building the spec models takes ~0.2 s, which a missing file or
    # a YAML error should not wait for (`vidact train nope.yaml` answers at once).
    from vidact.schemas.bsn import BSNChainSpec, is_chain_recipe
    from vidact.schemas.recipe import Recipe

    try:
        if is_chain_recipe(merged):  # a BSN chain recipe (`vidact proposals run`)
            return BSNChainSpec.model_validate(merged)  # type: ignore[return-value]
        return Recipe.model_validate(merged)
    except ValidationError as exc:
        problems = validation_problems(exc, provenance, display)
        raise RecipeProblems(f"{display}: invalid recipe", problems) from None


def recipe_problems(path: str | Path, overrides: Iterable[str] = ()) -> list[Problem]:
    """Everything wrong with a recipe, or [] when it is valid (errors are returned, not raised)."""
    try:
        load_recipe(path, overrides)
    except RecipeProblems as exc:
        return exc.problems
    except RecipeError as exc:
        return [Problem("", str(exc))]
    return []


# ---- reading and merging -----------------------------------------------------------------------


def _load_with_provenance(path: str | Path, overrides: Iterable[str]) -> tuple[dict[str, Any], Provenance]:
    merged: dict[str, Any] = {}
    provenance: Provenance = {}
    for display, layer in _layers(Path(path), str(path), ()):
        _merge(merged, layer, provenance, display, ())
    _apply_overrides(merged, provenance, list(overrides))
    return merged, provenance


def _layers(path: Path, display: str, stack: tuple[Path, ...]) -> list[tuple[str, dict[str, Any]]]:
    """The file's bases (depth first, in order), then the file itself, as (display name, mapping)."""
    resolved = path.resolve()
    if resolved in stack:
        chain = " -> ".join(p.name for p in (*stack[stack.index(resolved):], resolved))
        raise RecipeError(f"{display}: base files include each other: {chain}")
    data = _read_mapping(path, display)
    bases = data.pop("base", None)
    if isinstance(bases, str):
        bases = [bases]
    if bases is None:
        bases = []
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise RecipeError(f"{display}: 'base' must be a path or a list of paths, got {show_value(bases)}")
    layers: list[tuple[str, dict[str, Any]]] = []
    for base in bases:
        base_display = os.path.normpath(os.path.join(os.path.dirname(display), base))
        if not (path.parent / base).is_file():
            raise RecipeError(f"{display}: base file not found: {base_display}")
        layers += _layers(path.parent / base, base_display, (*stack, resolved))
    layers.append((display, data))
    return layers


def missing_recipe_message(path: str | Path, display: str | None = None) -> str:
    """'<path>: no such file', plus the close recipe names when there are any (one line)."""
    display = str(path) if display is None else display
    close = close_recipe_names(path)
    return f"{display}: no such file" + (f"; did you mean {', '.join(close)}?" if close else "")


def close_recipe_names(path: str | Path, limit: int = 4) -> list[str]:
    """Existing recipes whose names are close to a missing `path`, best first, spelled as `path` is.

    Looks at the `.yaml` files in the nearest existing folder of `path` and one level below it
    (`recipes/` and `recipes/toy/`), leaving out fragments (folders starting with `_`). A name
    is close when its stem equals the wanted stem, extends it (`tsm` -> `tsm_r50_kinetics400`),
    or is similar by `difflib`.
    """
    wanted = Path(path)
    folder = wanted.parent
    while str(folder) not in ("", ".") and not folder.is_dir():
        folder = folder.parent
    if not folder.is_dir():
        return []
    candidates = [p for p in (*folder.glob("*.yaml"), *folder.glob("*/*.yaml"))
                  if not any(part.startswith("_") for part in p.relative_to(folder).parts) and p.is_file()]
    stem = wanted.stem.lower()

    def rank(candidate: Path) -> tuple[int, float]:
        other = candidate.stem.lower()
        similar = difflib.SequenceMatcher(None, stem, other).ratio()
        tier = 0 if other == stem else 1 if other.startswith(stem + "_") or stem.startswith(other + "_") else 2
        return tier, -similar

    scored = sorted((rank(p), str(p)) for p in candidates)
    close = [name for (tier, similar), name in scored if tier < 2 or -similar >= 0.6]
    return close[:limit]


def _read_mapping(path: Path, display: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(missing_recipe_message(path, display)) from None
    except IsADirectoryError:
        raise RecipeError(f"{display}: is a directory, not a recipe file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{display}: cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{display}:{mark.line + 1}:{mark.column + 1}" if mark else display
        problem = exc.problem or "syntax error"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise RecipeError(f"{where}: invalid YAML: {problem}{context}") from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"{display}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(f"{display}: expected a mapping of recipe sections at the top level, got {_kind(data)}")
    return _fresh(data)


def _fresh(value: Any) -> Any:
    """Rebuild dicts and lists so YAML aliases (`*anchor`) no longer share one object."""
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value


def _merge(dst: dict[str, Any], src: dict[str, Any], prov: Provenance, source: str, prefix: PathParts) -> None:
    """Deep-merge `src` into `dst`: mappings merge key by key, anything else replaces."""
    for key, value in src.items():
        path = (*prefix, key)
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            prov[path] = source
            _merge(dst[key], value, prov, source, path)
        else:
            dst[key] = value
            _record(prov, path, value, source)


def _record(prov: Provenance, path: PathParts, value: Any, source: str) -> None:
    """Credit `value` (and every key inside it) at `path` to `source`, forgetting what it replaced."""
    for key in [k for k in prov if k[: len(path)] == path]:
        del prov[key]
    stack = [(path, value)]
    while stack:
        where, node = stack.pop()
        prov[where] = source
        if isinstance(node, dict):
            stack.extend(((*where, k), v) for k, v in node.items())


# ---- --set overrides ---------------------------------------------------------------------------

_SEGMENT = re.compile(r"([A-Za-z_][\w@-]*)((?:\[-?\d+\])*)")


def _apply_overrides(data: dict[str, Any], prov: Provenance, overrides: list[str]) -> None:
    problems = []
    for text in overrides:
        try:
            parts, value = _parse_override(text)
            _set_path(data, parts, value)
            _record(prov, parts, value, SET_SOURCE)
        except ValueError as exc:
            problems.append(Problem("", f"--set {text}: {exc}"))
    if len(problems) == 1:
        hint = "the form is --set KEY.PATH=VALUE, e.g. --set optimizer.lr=0.01"
        raise RecipeError(problems[0].message, hint=hint)
    if problems:
        raise RecipeProblems("invalid --set options", problems)


def _parse_override(text: str) -> tuple[PathParts, Any]:
    key, sep, raw = text.partition("=")
    if not sep:
        raise ValueError("expected KEY.PATH=VALUE")
    parts: list[str | int] = []
    for segment in key.strip().split("."):
        match = _SEGMENT.fullmatch(segment)
        if not match:
            raise ValueError(f"bad key path '{key.strip()}' (use names, dots and [index], e.g. a.b[0].c)")
        parts.append(match.group(1))
        parts.extend(int(i) for i in re.findall(r"-?\d+", match.group(2)))
    if parts[0] == "base":
        raise ValueError("'base' is merged before --set applies; edit the recipe file instead")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ValueError(f"value is not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    return tuple(parts), value


def _set_path(data: dict[str, Any], parts: PathParts, value: Any) -> None:
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = format_path(parts[:depth]) or "the recipe"
        if isinstance(part, str):
            if not isinstance(node, dict):
                hint = f"; index it like {where}[0]" if isinstance(node, list) else ""
                raise ValueError(f"{where} is {_kind(node)}, not a mapping{hint}")
            if last:
                node[part] = value
            elif node.get(part) is None:
                node[part] = {}
            node = node[part]
        else:
            if not isinstance(node, list):
                raise ValueError(f"{where} is {_kind(node)}, not a list")
            if not -len(node) <= part < len(node):
                raise ValueError(f"index {part} is out of range: {where} has {len(node)} items")
            if last:
                node[part] = value
            node = node[part]


# ---- validation errors -> problems -------------------------------------------------------------

_TOP_LEVEL_HINTS = {
    "fp16": "mixed precision is the 'amp' section here (amp: {enabled: true, dtype: float16})",
    "train_cfg": "move it under model (model.train_cfg)",
    "test_cfg": "move it under model (model.test_cfg)",
    "workflow": "vidact trains every epoch and validates every evaluation.interval epochs; remove it",
}
_TYPE_MESSAGES = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "dict_type": "expected a mapping",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "none_required": "expected null",
}
_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


def validation_problems(exc: ValidationError, prov: Provenance, main: str) -> list[Problem]:
    """Turn pydantic's errors into recipe-level problems, one per offending key, in input order."""
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        parts, message = _describe(error)
        source = None
        if error["type"] not in ("missing", "union_tag_not_found"):
            source = _source_of(prov, parts, main)
        problem = Problem(format_path(parts), message, source)
        if problem not in problems:
            problems.append(problem)
    return problems


def format_path(parts: Sequence[str | int]) -> str:
    """`('data', 'train', 'pipeline', 3, 'crop_size')` -> `data.train.pipeline[3].crop_size`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: dict[str, Any]) -> tuple[list[str | int], str]:
    kind, ctx, got = error["type"], error.get("ctx") or {}, show_value(error.get("input"))
    parts, _ = _walk(error["loc"])
    if kind == "missing":
        return parts, "missing required key"
    if kind == "extra_forbidden":
        _, parent = _walk(error["loc"][:-1])
        return parts, _unknown_key(error["loc"][-1], parent)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        parts.append(ctx.get("discriminator", "'type'").strip("'"))
        if kind == "union_tag_not_found":
            return parts, "missing required key"
        return parts, _unknown_name(ctx.get("tag"), re.findall(r"'([^']*)'", ctx.get("expected_tags", "")))
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        guess = did_you_mean(error["input"], re.findall(r"'([^']*)'", expected)) if isinstance(
            error["input"], str) else None
        hint = f"; did you mean '{guess}'?" if guess else ""
        return parts, f"expected {expected}, got {got}{hint}"
    if kind in _TYPE_MESSAGES:
        return parts, f"{_TYPE_MESSAGES[kind]}, got {got}"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()), "?")
        bound = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
        return parts, f"must be {_BOUNDS[kind]} {bound}, got {got}"
    if kind in ("too_short", "too_long"):
        return parts, _length_message(ctx, got)
    if kind in ("value_error", "assertion_error"):
        return parts, re.sub(r"^(Value|Assertion) error, ", "", error["msg"])
    return parts, error["msg"]  # our own PydanticCustomError messages already read as recipe text


def _length_message(ctx: dict[str, Any], got: str) -> str:
    actual = ctx.get("actual_length")
    low, high = ctx.get("min_length"), ctx.get("max_length")
    if low is not None and low == high:
        return f"expected {low} items, got {actual}: {got}"
    if low is not None:
        return f"expected at least {low} items, got {actual}: {got}"
    return f"expected at most {high} items, got {actual}: {got}"


def _unknown_key(key: Any, parent: Any) -> str:
    from vidact.schemas.recipe import Recipe

    if parent is Recipe and key in _TOP_LEVEL_HINTS:
        return f"unknown key '{key}'; {_TOP_LEVEL_HINTS[key]}"
    known = list(parent.model_fields) if _is_model(parent) else []
    guess = did_you_mean(str(key), known) if known else None
    if guess:
        return f"unknown key '{key}'; did you mean '{guess}'?"
    return f"unknown key '{key}'; known keys: {', '.join(known)}" if known else f"unknown key '{key}'"


def _unknown_name(tag: Any, known: list[str]) -> str:
    guess = did_you_mean(tag, known) if isinstance(tag, str) else None
    if guess:
        return f"unknown {show_value(tag)}; did you mean '{guess}'?"
    return f"unknown {show_value(tag)}; known: {', '.join(sorted(known))}"


def _source_of(prov: Provenance, parts: Sequence[str | int], main: str) -> str | None:
    for end in range(len(parts), 0, -1):
        source = prov.get(tuple(parts[:end]))
        if source is not None:
            return None if source == main else source
    return None


# ---- walking pydantic locations through the spec types -----------------------------------------


def _walk(loc: Sequence[str | int]) -> tuple[list[str | int], Any]:
    """Follow an error location through the spec types.

    Returns the location as YAML path parts, without the union tags pydantic inserts, and the type
    found at its end (None once the types can no longer be followed).
    """
    from vidact.schemas.recipe import Recipe

    node: Any = Recipe
    parts: list[str | int] = []
    for item in loc:
        node = _strip(node)
        if _is_model(node):
            parts.append(item)
            field = node.model_fields.get(item) if isinstance(item, str) else None
            node = field.annotation if field else None
        elif _is_union(node):
            members = [m for m in (_strip(a) for a in typing.get_args(node)) if m is not type(None)]
            if all(_is_model(m) and _tag_key(m) for m in members):
                node = next((m for m in members if _tag_value(m) == item), None)
            else:
                node = None  # a plain union: pydantic names the branch here, which is no YAML key
        elif typing.get_origin(node) in (list, tuple) and isinstance(item, int):
            parts.append(item)
            args = typing.get_args(node)
            if len(args) == 2 and args[1] is Ellipsis or typing.get_origin(node) is list:
                node = args[0]
            else:
                node = args[item] if 0 <= item < len(args) else None
        else:
            parts.append(item)
            node = None
    return parts, _strip(node)


def _strip(node: Any) -> Any:
    """Remove `Annotated[...]` and the `None` of optional types."""
    while True:
        if typing.get_origin(node) is typing.Annotated:
            node = typing.get_args(node)[0]
        elif _is_union(node):
            members = [a for a in typing.get_args(node) if a is not type(None)]
            if len(members) != 1:
                return node
            node = members[0]
        else:
            return node


def _is_union(node: Any) -> bool:
    return typing.get_origin(node) in (Union, types.UnionType)


def _is_model(node: Any) -> bool:
    return isinstance(node, type) and issubclass(node, BaseModel)


def _tag_key(model: type[BaseModel]) -> str | None:
    for key in ("type", "policy"):
        field = model.model_fields.get(key)
        if field is not None and typing.get_origin(field.annotation) is typing.Literal:
            return key
    return None


def _tag_value(model: type[BaseModel]) -> Any:
    key = _tag_key(model)
    return typing.get_args(model.model_fields[key].annotation)[0] if key else None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string ({show_value(value)})"
    if isinstance(value, bool):
        return f"a boolean ({show_value(value)})"
    return f"a number ({value})"
