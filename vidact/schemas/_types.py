"""Base classes and reusable field types shared by the recipe specs.

Multi-shape fields (`224` or `[224, 224]`, a scale factor or `[w, h]`) validate in one function so
a bad value gives one message in recipe terms instead of one pydantic error per union branch.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError


class Spec(BaseModel):
    """Base of every recipe spec: unknown keys fail, and a validated spec is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ComponentSpec(Spec):
    """A spec naming one buildable component; subclasses narrow `type` to a one-name literal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str


def show_value(value: Any, limit: int = 60) -> str:
    """Render a user-supplied value the way it would read in YAML, shortened for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 3] + "..."
        return f"'{text}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        text = "[" + ", ".join(show_value(v, limit) for v in value) + "]"
        return text if len(text) <= limit else text[: limit - 4] + "...]"
    return str(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _size(value: Any) -> int | tuple[int, int]:
    if _is_int(value) and value > 0:
        return value
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) and v > 0 for v in value):
        return (value[0], value[1])
    raise PydanticCustomError("size", "expected an int or [w, h], got {got}", {"got": show_value(value)})


def _scale(value: Any) -> float | tuple[int, int]:
    if isinstance(value, float) and value > 0:
        return value
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) for v in value):
        w, h = value
        if (w > 0 or w == -1) and (h > 0 or h == -1) and (w, h) != (-1, -1):
            return (w, h)
    raise PydanticCustomError(
        "scale",
        "expected a float factor (e.g. 0.5) or [w, h] with -1 for a free side (e.g. [-1, 256]), got {got}",
        {"got": show_value(value)},
    )


def _int_or_ints(value: Any) -> int | tuple[int, ...]:
    if _is_int(value):
        return value
    if isinstance(value, (list, tuple)) and all(_is_int(v) for v in value):
        return tuple(value)
    raise PydanticCustomError(
        "int_or_ints", "expected an int or a list of ints, got {got}", {"got": show_value(value)}
    )


def _stage_flags(value: Any) -> tuple[int | tuple[int, ...], ...]:
    """Per-stage 0/1 flags: one flag for the whole stage or a list with one flag per block."""

    def flag(v: Any) -> bool:
        return _is_int(v) and v in (0, 1)

    if isinstance(value, (list, tuple)):
        out: list[int | tuple[int, ...]] = []
        for item in value:
            if flag(item):
                out.append(item)
            elif isinstance(item, (list, tuple)) and all(flag(v) for v in item):
                out.append(tuple(item))
            else:
                break
        else:
            return tuple(out)
    raise PydanticCustomError(
        "stage_flags",
        "expected one 0/1 flag per stage, each a single flag or a list with one flag per block, got {got}",
        {"got": show_value(value)},
    )


def _number_or_pair(value: Any) -> float | tuple[float, float]:
    if _is_number(value):
        return float(value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value):
        return (float(value[0]), float(value[1]))
    raise PydanticCustomError(
        "number_or_pair", "expected a number or a pair of numbers, got {got}", {"got": show_value(value)}
    )


def _local_path(value: str) -> str:
    if "://" in value:
        raise PydanticCustomError(
            "local_path",
            "expected a local file path (vidact never downloads weights), got {got}",
            {"got": show_value(value)},
        )
    return value


Size = Annotated[int | tuple[int, int], BeforeValidator(_size)]
"""A crop or input size: `224` (square) or `[w, h]`."""

Scale = Annotated[float | tuple[int, int], BeforeValidator(_scale)]
"""A Resize scale: a float factor or `[w, h]`, where -1 leaves one side free (keeps the ratio)."""

IntOrInts = Annotated[int | tuple[int, ...], BeforeValidator(_int_or_ints)]
"""One int or a list of ints, e.g. lr `step: 30` or `step: [40, 80]`."""

StageFlags = Annotated[tuple[int | tuple[int, ...], ...], BeforeValidator(_stage_flags)]
"""Per-stage 0/1 switches (ResNet3d `inflate`, `non_local`): `[1, 1, 1, 1]` or `[[1, 0, 1], ...]`."""

NumberOrPair = Annotated[float | tuple[float, float], BeforeValidator(_number_or_pair)]
"""A number or a `[a, b]` pair of numbers."""

LocalPath = Annotated[str, AfterValidator(_local_path)]
"""A path on the local disk; URLs and `torchvision://` style names are refused."""

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
Ratio = Annotated[float, Field(ge=0, lt=1)]
"""A fraction in [0, 1), e.g. a dropout ratio."""
