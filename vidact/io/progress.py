"""Progress bars on stderr for long loops (testing, prediction, validation, dataset generation).

Light on purpose (rich and the standard library only), so commands can use it before torch loads.
A bar that ends on a terminal, or as the one line a non-terminal gets, shows the real elapsed time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn
from rich.text import Text

T = TypeVar("T")


def format_seconds(seconds: float) -> str:
    """`42s`, `3m05s`, `2h07m`: short enough for an 80-column line."""
    seconds = max(0, int(math.ceil(seconds)))
    hours, rest = divmod(seconds, 3600)
    if hours:
        return f"{hours}h{rest // 60:02d}m"
    return f"{rest // 60}m{rest % 60:02d}s" if rest >= 60 else f"{rest}s"


class ElapsedOrEta(ProgressColumn):
    """Time left while running; the real elapsed time once finished (also in a non-terminal's one
    final line, where rich's own remaining-time column would say 0:00:00)."""

    def render(self, task: Any) -> Text:
        if task.finished:
            return Text(f"in {format_seconds(task.finished_time or task.elapsed or 0)}", style="progress.elapsed")
        remaining = task.time_remaining
        return Text(f"eta {format_seconds(remaining)}" if remaining is not None else "eta ?",
                    style="progress.remaining")


def make_progress(unit: str) -> Progress:
    """A rich `Progress` on stderr: description, bar, done/total `unit`, rate, ETA (elapsed when done)."""
    from vidact.io import console

    return Progress(TextColumn("{task.description}"), BarColumn(bar_width=30), MofNCompleteColumn(),
                    TextColumn(unit), TextColumn("{task.fields[rate]}"), ElapsedOrEta(), console=console.err)


def transient_progress(*columns: ProgressColumn | str) -> Progress:
    """A progress bar on stderr that disappears when done. Where stderr is not a terminal (a log
    file, a pipe) there is none: it could not disappear there, and would leave an empty line."""
    from vidact.io import console

    return Progress(*columns, console=console.err, transient=True, disable=not console.err.is_terminal)


def track(items: Iterable[T], description: str, *, total: int | None = None, unit: str = "batches",
          enabled: bool = True) -> Iterator[T]:
    """Yield `items` while a progress bar on stderr counts them (`total`: len(items) when it has one).

    When the iteration ends early (an exception, a break) the bar stops where it was.
    """
    if not enabled:
        yield from items
        return
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    progress = make_progress(unit)
    task = progress.add_task(description, total=total, rate="")
    started = time.perf_counter()
    with progress:
        for done, item in enumerate(items, start=1):
            yield item
            elapsed = time.perf_counter() - started
            progress.update(task, completed=done, rate=f"{done / elapsed:.1f}/s" if elapsed > 0 else "")
        if total is None:
            progress.update(task, total=progress.tasks[0].completed)
