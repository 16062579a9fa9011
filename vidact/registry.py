"""A small name -> builder registry, one instance per component family.

Keys are the reference API's class names (`SampleFrames`, `Recognizer2D`, ...), so recipes read
like the configs users already have. Each family's package imports its modules explicitly, so
registration never depends on import order elsewhere.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from vidact.errors import RecipeError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a type name to a class or builder function for one family of components."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._entries: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator adding a class or function under `name` (default: its `__name__`)."""

        def deco(obj: T) -> T:
            key = name or getattr(obj, "__name__")
            if key in self._entries:
                raise ValueError(f"{self.family}: '{key}' is already registered")
            self._entries[key] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        """Return the entry called `name`; unknown names fail with the known ones and a suggestion."""
        try:
            return self._entries[name]
        except KeyError:
            raise RecipeError(unknown_name_message(self.family, name, self.names())) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.family!r}, {len(self)} entries)"


def did_you_mean(name: str, known: list[str]) -> str | None:
    """The closest known name to `name`, or None when nothing is close."""
    lowered = {k.lower(): k for k in known}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def unknown_name_message(family: str, name: str, known: list[str]) -> str:
    """One-line message for an unknown component name."""
    guess = did_you_mean(name, known)
    msg = f"unknown {family} type '{name}'"
    if guess:
        return f"{msg}; did you mean '{guess}'?"
    return f"{msg}; known: {', '.join(known)}"
