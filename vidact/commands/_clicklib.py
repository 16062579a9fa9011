"""The click layer under Typer: a separate package up to typer 0.27, vendored from 0.28 on.

Only `cli.py` and the completion generator need it; everything else uses Typer's public API.
"""

from __future__ import annotations

import enum
import typing

import typer

try:  # typer >= 0.28 ships its own copy of click
    from typer import _click as click  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older typer with click as a dependency
    import click  # type: ignore[no-redef]

ClickException = click.exceptions.ClickException

# Exceptions the framework uses for control flow (exit codes, usage errors): never ours to report.
FRAMEWORK_EXCEPTIONS: tuple[type[BaseException], ...] = tuple(
    {typer.Exit, typer.Abort, ClickException, getattr(click.exceptions, "Exit", typer.Exit)}
)


def is_group(cmd: object) -> bool:
    """True for commands with subcommands (click's Group, or typer's merged Command)."""
    return callable(getattr(cmd, "list_commands", None))


def is_option(param: object) -> bool:
    """True for options (as opposed to positional arguments)."""
    return getattr(param, "param_type_name", "") == "option"


def make_context(cmd: object, parent: object | None = None, name: str | None = None):
    """A bare context for walking the command tree (no argument parsing)."""
    return click.Context(cmd, parent=parent, info_name=name)


def option_choices(param: object) -> tuple[str, ...]:
    """The fixed values an option accepts (from a click Choice, an Enum or a Literal), or ()."""
    choices = getattr(getattr(param, "type", None), "choices", None)
    if choices:
        return tuple(str(getattr(c, "value", c)) for c in choices)
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return tuple(str(m.value) for m in annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    return ()


def show_flags_as_flags() -> None:
    """Make `--help` list boolean flags without a value column (typer 0.29 shows `--json <bool>`).

    A flag takes no value, so its type column stays empty, as click and older typer render it.
    Called once by `cli.py`; idempotent.
    """
    option_cls = getattr(getattr(typer, "core", None), "TyperOption", None)
    display = getattr(option_cls, "display_type_rich", None)
    if display is None or getattr(display, "_vidact_flags", False):
        return

    def display_type_rich(self, ctx):  # noqa: ANN001 - click's signature
        if getattr(self, "is_flag", False) and self.metavar is None:
            return None
        return display(self, ctx)

    display_type_rich._vidact_flags = True  # type: ignore[attr-defined]
    option_cls.display_type_rich = display_type_rich
