"""The model-side registries: recipe `type` name -> class, one per family.

Each family's package (`backbones/`, `heads/`, `losses/`, `recognizers/`) imports its modules
explicitly, and `vidact.models.build` imports the packages, so the registries are full as soon as
`vidact.models` is imported.
"""

from __future__ import annotations

from torch import nn

from vidact.registry import Registry

BACKBONES: Registry[type[nn.Module]] = Registry("backbone")
HEADS: Registry[type[nn.Module]] = Registry("head")
LOSSES: Registry[type[nn.Module]] = Registry("loss")
RECOGNIZERS: Registry[type[nn.Module]] = Registry("model")
"""Recognizer2D / Recognizer3D. Localizers (TEM, PEM, BMN, SSN) get their own registry with them."""
LOCALIZERS: Registry[type[nn.Module]] = Registry("model")
"""TEM / PEM / BMN: temporal localizers, built by `build_model` like the recognizers."""
