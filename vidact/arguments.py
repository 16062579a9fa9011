"""Argument checks for the public API, with Python's conventions: a wrong type raises TypeError,
a wrong value ValueError, and both messages name the argument and the value given.

Never `assert` for these (asserts vanish under `python -O`); the reference raises AssertionError in
several such places, listed in docs/differences.md.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """`value` as an int (a bool is not one); TypeError otherwise, ValueError below `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_number(value: Any, name: str, *, low: float | None = None, high: float | None = None) -> float:
    """`value` as a finite float within [low, high]; TypeError for non-numbers, ValueError outside."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    out = float(value)
    if not np.isfinite(out) or (low is not None and out < low) or (high is not None and out > high):
        bounds = f" in [{low}, {high}]" if low is not None and high is not None else ""
        raise ValueError(f"{name} must be a finite number{bounds}, got {value!r}")
    return out


def check_choice(value: Any, name: str, choices: Collection[Any]) -> Any:
    """`value` if it is one of `choices`, else ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_names(value: Any, name: str) -> Sequence[str]:
    """A list/tuple of key names (a lone string is refused: it would be read letter by letter)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list of key names, got {value!r}")
    return value


def check_int_pair(value: Any, name: str, *, minimum: int | None = None) -> tuple[int, int]:
    """A tuple/list of two ints (e.g. SSN's aug_segments); TypeError otherwise."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"{name} must be a pair of ints, got {value!r}")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
            raise TypeError(f"{name} must be a pair of ints, got {value!r}")
    if minimum is not None and min(value) < minimum:
        raise ValueError(f"{name} values must be >= {minimum}, got {tuple(value)}")
    return int(value[0]), int(value[1])
