"""Action recognition models: backbones, heads, losses and recognizers, and the builders that make
them from recipe specs (`build_model(recipe.model)`)."""

from vidact.models.build import build_backbone, build_head, build_loss, build_model
from vidact.models.common.layers import to_channels_last
from vidact.models.registry import BACKBONES, HEADS, LOCALIZERS, LOSSES, RECOGNIZERS

__all__ = [
    "BACKBONES",
    "HEADS",
    "LOCALIZERS",
    "LOSSES",
    "RECOGNIZERS",
    "build_backbone",
    "build_head",
    "build_loss",
    "build_model",
    "to_channels_last",
]
