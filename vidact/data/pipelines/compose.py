"""`Compose`: run pipeline steps in order over one results dict."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Step = Callable[[dict[str, Any]], "dict[str, Any] | None"]


class Compose:
    """Apply a sequence of steps; a step returning None stops the pipeline and yields None.

    Args:
        transforms: built steps (any callables) and/or config dicts ({"type": ..., ...}), as
            the reference API states.
        build_step: builder for dict entries; by default the pipeline registry's
            (`vidact.data.build.build_pipeline_step`), which validates the dict as a recipe
            step would be.

    Raises:
        TypeError: `transforms` is not a sequence, or an entry is neither callable nor a dict.
        RecipeError (a ValueError): a dict with an unknown type (the message names the closest
            known names) or bad arguments.
    """

    def __init__(
        self,
        transforms: Sequence[Step | Mapping[str, Any]],
        *,
        build_step: Callable[[Mapping[str, Any]], Step] | None = None,
    ) -> None:
        if not isinstance(transforms, Sequence) or isinstance(transforms, str):
            raise TypeError(f"transforms must be a sequence of steps, got {type(transforms)}")
        self.transforms: list[Step] = []
        for i, transform in enumerate(transforms):
            if isinstance(transform, Mapping):
                if build_step is None:
                    # Imported here: the registry imports this module.
                    from vidact.data.build import build_pipeline_step

                    transform = build_pipeline_step(transform, where=f"transforms[{i}]")
                else:
                    transform = build_step(transform)
            if not callable(transform):
                raise TypeError(f"transform must be callable or a dict, but got {type(transform)}")
            self.transforms.append(transform)

    def __call__(self, data: dict[str, Any]) -> dict[str, Any] | None:
        for transform in self.transforms:
            data = transform(data)
            if data is None:
                return None
        return data

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"
