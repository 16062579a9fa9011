"""Checkpoints from MMAction (0.x and 1.x) as vidact models: import to a file, or load on the fly.

`import_checkpoint` writes a vidact checkpoint (`vidact checkpoint import`); `model_weights`
reads either kind of file for `load_model`, `vidact test`/`predict` and `train --load-from`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vidact.models.convert import (
    ImportReport,
    is_vidact_checkpoint,
    load_mmaction_weights,
    plain_meta,
    read_checkpoint_file,
)

log = logging.getLogger(__name__)


def build_for_weights(model_spec: Any) -> nn.Module:
    """The model of a recipe's `model` section without reading its `pretrained` files: a checkpoint's
    weights replace them anyway, and the files need not exist where the checkpoint is used."""
    from vidact.models import build_model

    spec = model_spec.model_dump() if hasattr(model_spec, "model_dump") else dict(model_spec)
    backbone = spec.get("backbone") or {}
    for part in (backbone, backbone.get("slow_pathway"), backbone.get("fast_pathway")):
        if isinstance(part, dict) and "pretrained" in part:
            part["pretrained"] = None
    return build_model(spec)


def _types(recipe: Any) -> tuple[str, str]:
    """The recipe's backbone and head types; a model without both is not importable."""
    from vidact.models.convert import CheckpointImportError

    model = recipe.model
    backbone, head = getattr(model, "backbone", None), getattr(model, "cls_head", None)
    if backbone is None or head is None:
        raise CheckpointImportError(
            f"MMAction checkpoints import into recognizers (a backbone and a cls_head); "
            f"the recipe's model is a {getattr(model, 'type', type(model).__name__)}"
        )
    return backbone.type, head.type


def import_mmaction(path: str | os.PathLike, recipe: Any, *, allow_partial: bool = False,
                    checkpoint: Mapping[str, Any] | None = None) -> tuple[nn.Module, ImportReport]:
    """The recipe's model carrying an MMAction checkpoint's weights (every key and shape checked).

    Args:
        checkpoint: the file's contents when already read.

    Raises:
        CheckpointImportError: unreadable file, another architecture, a different number of classes,
            or unmatched keys (unless `allow_partial`).
    """
    backbone_type, head_type = _types(recipe)
    checkpoint = read_checkpoint_file(path) if checkpoint is None else checkpoint
    model = build_for_weights(recipe.model)
    report = load_mmaction_weights(model, checkpoint, backbone_type=backbone_type, head_type=head_type,
                                   source=str(path), allow_partial=allow_partial)
    return model, report


def import_checkpoint(path: str | os.PathLike, recipe: Any, out: str | os.PathLike, *,
                      allow_partial: bool = False) -> ImportReport:
    """Import an MMAction checkpoint onto the recipe's model and write it as a vidact checkpoint
    (atomically, with the recipe, epoch 0, and the source's plain `meta` under `extra`)."""
    from vidact.engine.checkpoint import save_checkpoint

    checkpoint = read_checkpoint_file(path)
    model, report = import_mmaction(path, recipe, allow_partial=allow_partial, checkpoint=checkpoint)
    extra = {"imported_from": str(path), "mmaction_meta": plain_meta(checkpoint),
             "import_summary": {k: v for k, v in report.summary().items() if k != "source"}}
    save_checkpoint(Path(out), model=model, epoch=0, iteration=0, recipe=recipe.to_plain(), extra=extra)
    return report


def model_weights(path: str | os.PathLike, recipe: Any) -> dict[str, torch.Tensor]:
    """The state dict to load into the recipe's model from a vidact or an MMAction checkpoint.

    A vidact checkpoint's recipe is checked against `recipe` first; an MMAction checkpoint is
    imported on the fly (every key mapped, shapes checked) with a one-line note in the log.

    Raises:
        CheckpointError: unreadable file, or a checkpoint that does not fit the recipe.
    """
    from vidact.engine.checkpoint import check_compatible

    checkpoint = read_checkpoint_file(path)
    if is_vidact_checkpoint(checkpoint):
        check_compatible(checkpoint.get("recipe"), recipe.to_plain())
        return dict(checkpoint["state_dict"])
    model, report = import_mmaction(path, recipe, checkpoint=checkpoint)
    log.warning("%s: an MMAction checkpoint, imported on the fly (%d tensors; "
                "`vidact checkpoint import` saves the result)", path, len(report.loaded))
    return model.state_dict()


def load_model(recipe: Any, checkpoint: str | os.PathLike | None = None, *, overrides: Any = (),
               device: str | torch.device = "cpu") -> nn.Module:
    """A recipe's model in eval mode, with a vidact or MMAction checkpoint's weights when given.

    Args:
        recipe: a recipe file path or an already loaded `Recipe`.
        checkpoint: a vidact checkpoint or an MMAction 0.x/1.x one (imported on the fly); None keeps
            the initial weights.
        overrides: `a.b.c=value` strings applied to a recipe file, as `--set` does.
        device: where the model goes.

    Returns:
        The model: `model.backbone(x)`, `model.cls_head(...)` and `model.forward_test(imgs)` take
        the reference's layouts.
    """
    from vidact.models import build_model
    from vidact.schemas.load import load_recipe

    if isinstance(recipe, (str, os.PathLike)):
        recipe = load_recipe(recipe, list(overrides))
    elif overrides:
        raise ValueError("overrides apply to a recipe file; got an already loaded recipe")
    model = build_model(recipe.model) if checkpoint is None else build_for_weights(recipe.model)
    if checkpoint is not None:
        state = model_weights(checkpoint, recipe)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            from vidact.errors import CheckpointError

            raise CheckpointError(f"{checkpoint}: does not fit the recipe's model ({str(exc).splitlines()[0]})",
                                  hint="use the recipe the checkpoint was trained with") from None
    return model.to(device).eval()


def initial_weights(path: str | os.PathLike, recipe: Any) -> dict[str, torch.Tensor]:
    """`load_from`'s tensors: a vidact checkpoint's state dict, or an MMAction one renamed to vidact's
    names (not checked: the caller keeps what fits, e.g. all but a head with other classes)."""
    from vidact.models.convert import mmaction_state_dict, mmaction_to_vidact

    checkpoint = read_checkpoint_file(path)
    if is_vidact_checkpoint(checkpoint):
        return dict(checkpoint["state_dict"])
    log.warning("%s: an MMAction checkpoint, keys renamed to vidact's on the fly", path)
    return mmaction_to_vidact(mmaction_state_dict(checkpoint, str(path)), *_types(recipe))
