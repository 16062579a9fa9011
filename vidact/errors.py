"""The exception family raised by vidact's library code.

`cli.py` catches `VidactError` once and turns it into a one-line message and an exit code.
"""

from __future__ import annotations


class VidactError(Exception):
    """Base class of every error vidact reports to users.

    Attributes:
        exit_code: 2 for bad input (files, recipes, options), 1 for runtime failures.
        hint: an optional second line telling the user what to do.
    """

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class InputError(VidactError, ValueError):
    """A file, option or argument given by the user is unusable.

    Also a `ValueError`, so API callers can catch a wrong argument value the Python way.
    """

    exit_code = 2


class RecipeError(InputError):
    """A recipe failed to load or validate."""


class AnnotationError(InputError):
    """An annotation, ground-truth or results file is malformed."""


class DecodeError(VidactError):
    """A video or frame could not be decoded."""


class CheckpointError(VidactError):
    """A checkpoint is missing, corrupt or does not match the recipe."""


class CheckpointNotFoundError(CheckpointError, InputError):
    """A checkpoint file that does not exist: bad input (exit 2), unlike a corrupt or mismatched one."""

    exit_code = 2
