"""Hypothesis strategies for temporal segments and scored proposals.

Coordinates mix a dyadic grid (multiples of 1/8 in [0, 2]: exact arithmetic, and plenty of ties,
duplicates, zero-length and nested segments) with arbitrary floats.
"""

from __future__ import annotations

from hypothesis import strategies as st

GRID = st.integers(0, 16).map(lambda k: k / 8)
FLOATS = st.floats(0, 2, allow_nan=False, allow_infinity=False, allow_subnormal=False)
COORDINATES = st.one_of(GRID, FLOATS)
SCORES = st.one_of(
    st.sampled_from([0.25, 0.5, 0.75, 1.0]), st.floats(0.01, 1.0, allow_subnormal=False)
)
THRESHOLDS = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), st.floats(-0.1, 1.0))


@st.composite
def segments(
    draw: st.DrawFn, coordinates: st.SearchStrategy[float] = COORDINATES
) -> tuple[float, float]:
    """One [start, end] with start <= end."""
    a, b = draw(coordinates), draw(coordinates)
    return (min(a, b), max(a, b))


@st.composite
def scored_rows(
    draw: st.DrawFn,
    max_size: int = 25,
    extra_columns: int = 0,
    coordinates: st.SearchStrategy[float] = COORDINATES,
) -> list[list[float]]:
    """Rows [start, end, score, extra...]; some rows repeat earlier ones exactly."""
    rows: list[list[float]] = []
    for _ in range(draw(st.integers(0, max_size))):
        if rows and draw(st.integers(0, 5)) == 0:
            rows.append(list(draw(st.sampled_from(rows))))
            continue
        start, end = draw(segments(coordinates))
        extra = [draw(st.floats(-1, 1)) for _ in range(extra_columns)]
        rows.append([start, end, draw(SCORES), *extra])
    return rows
