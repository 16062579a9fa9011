"""The test-suite machinery of tests/conftest.py: data shared between tests, the order for xdist."""

from __future__ import annotations

from pathlib import Path

from suite_order import spread_heavy


def test_shared_data_is_built_once(shared_data):
    calls = []

    def build(root: Path) -> None:
        calls.append(root)
        root.mkdir()
        (root / "x.txt").write_text("x")

    first = shared_data("suite_check", build)
    again = shared_data("suite_check", build)
    assert first == again == calls[0] and len(calls) == 1
    assert (first / "x.txt").read_text() == "x"


def test_spread_heavy_puts_the_longest_units_first_on_different_slices():
    weights = {"a": ("A", 8.0), "b": ("B", 4.0), "c": ("C", 3.0), "h": ("A", 8.0)}
    items = list("abcdefghij")
    ordered = spread_heavy(items, weights.get, workers=2)
    assert sorted(ordered) == items
    first, second = ordered[:5], ordered[5:]
    assert first[:2] == ["a", "h"]  # a unit stays together, at the head of its slice
    assert second[:2] == ["b", "c"]  # 4 + 3 < 8: both go to the other slice, longest first
    assert [x for x in ordered if x not in weights] == list("defgij")  # the light items keep their order
    assert spread_heavy(items, lambda _: None, workers=3) == items
