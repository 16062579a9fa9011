"""How tests/conftest.py orders the collection for pytest-xdist workers (a plain module, so tests can
import it: conftest modules share one name)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def spread_heavy(items: list[T], unit: Callable[[T], tuple[str, float] | None], workers: int) -> list[T]:
    """`items` reordered for `workers` xdist workers: the heavy units (`unit(item)` gives (name, weight),
    None for light items) go longest first to the slice with the least weight so far, each slice
    starts with its heavy units, and the light items fill the slices in their order."""
    units: dict[str, list[T]] = {}
    weights: dict[str, float] = {}
    light = []
    for item in items:
        found = unit(item)
        if found is None:
            light.append(item)
        else:
            units.setdefault(found[0], []).append(item)
            weights[found[0]] = found[1]
    heads: list[list[T]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    for name in sorted(units, key=lambda n: -weights[n]):  # stable: ties keep the collection order
        slot = loads.index(min(loads))
        heads[slot] += units[name]
        loads[slot] += weights[name]
    ordered, remaining = [], len(items)
    for slot in range(workers):  # worksteal's first hand-out: an equal share to each idle worker
        size = remaining // (workers - slot)
        remaining -= size
        fill = max(0, size - len(heads[slot]))
        ordered += heads[slot] + light[:fill]
        light = light[fill:]
    return ordered + light
