"""Spec -> nn.Module, one function per family.

Each builder validates a plain mapping into its spec when given one, looks up `spec.type` in the
family's registry and passes the spec's fields as keyword arguments. Nested fields become what the
constructors take: a loss spec a built loss, a consensus spec an `AvgConsensus`, a SlowFast pathway
spec a built `ResNet3dPathway`, a backbone/head spec the built module, and layer settings
(`conv_cfg`, `norm_cfg`, `act_cfg`, `non_local_cfg`, `train_cfg`, `test_cfg`) plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from torch import nn

from vidact.models import backbones as _backbones  # noqa: F401  (registers the backbones)
from vidact.models import heads as _heads  # noqa: F401
from vidact.models import localizers as _localizers  # noqa: F401
from vidact.models import losses as _losses  # noqa: F401
from vidact.models import recognizers as _recognizers  # noqa: F401
from vidact.models.backbones.resnet3d_slowfast import ResNet3dPathway
from vidact.models.heads.base import AvgConsensus
from vidact.models.registry import BACKBONES, HEADS, LOCALIZERS, LOSSES, RECOGNIZERS
from vidact.registry import Registry
from vidact.schemas import model as specs
from vidact.schemas.load import RecipeProblems, validation_problems
from vidact.schemas.recipe import FAMILIES

_HEAD_SPECS = specs.ClsHead | specs.SSNHeadSpec
_LOSS_SPECS = specs.ClsLoss | specs.BinaryLogisticRegressionLossSpec | specs.BMNLossSpec | specs.SSNLossSpec
_PLAIN_SPECS = (
    specs.ConvCfgSpec,
    specs.NormCfgSpec,
    specs.ActCfgSpec,
    specs.NonLocalCfgSpec,
    specs.RecognizerTrainCfgSpec,
    specs.RecognizerTestCfgSpec,
)


def build_backbone(spec: BaseModel | Mapping[str, Any]) -> nn.Module:
    """A backbone from its spec (`ResNetSpec`, ..., `ResNet3dSlowFastSpec`) or the same as a dict."""
    spec = _validate(spec, specs.Backbone, "backbone")
    if isinstance(spec, specs.ResNet3dSlowFastSpec):
        return _build(
            BACKBONES, spec, slow_pathway=_slow_pathway(spec), fast_pathway=_pathway(spec.fast_pathway)
        )
    return _build(BACKBONES, spec)


def build_head(spec: BaseModel | Mapping[str, Any]) -> nn.Module:
    """A head from its spec (`TSNHeadSpec`, `TSMHeadSpec`, `I3DHeadSpec`, `SlowFastHeadSpec`) or a dict."""
    return _build(HEADS, _validate(spec, _HEAD_SPECS, "head"))


def build_loss(spec: BaseModel | Mapping[str, Any]) -> nn.Module:
    """A loss from its spec (`CrossEntropyLossSpec`, `NLLLossSpec`, `BCELossWithLogitsSpec`) or a dict."""
    return _build(LOSSES, _validate(spec, _LOSS_SPECS, "loss"))


def build_model(spec: BaseModel | Mapping[str, Any]) -> nn.Module:
    """A whole model from a recipe's `model` section (`Recognizer2DSpec`, `Recognizer3DSpec`) or a dict.

    Raises:
        RecipeError: invalid mapping, or a model type without a builder yet (the localizers).
    """
    spec = _validate(spec, specs.Model, "model")
    return _build(LOCALIZERS if spec.type in LOCALIZERS else RECOGNIZERS, spec)


# ---- helpers ---------------------------------------------------------------------------------------


def _validate(spec: BaseModel | Mapping[str, Any], annotation: Any, family: str) -> Any:
    if isinstance(spec, BaseModel):
        return spec
    try:
        return TypeAdapter(annotation).validate_python(dict(spec))
    except ValidationError as exc:
        raise RecipeProblems(f"invalid {family} settings", validation_problems(exc, {}, "")) from None


def _build(registry: Registry, spec: BaseModel, **built: Any) -> nn.Module:
    """`registry[spec.type](**fields)`, with `built` supplying some fields already converted."""
    cls = registry.get(spec.type)
    names = [name for name in type(spec).model_fields if name != "type" and name not in built]
    return cls(**{name: _argument(getattr(spec, name)) for name in names}, **built)


def _argument(value: Any) -> Any:
    """A spec field's value as the constructors take it."""
    if isinstance(value, _PLAIN_SPECS):
        return value.model_dump()
    if isinstance(value, specs.AvgConsensusSpec):
        return AvgConsensus(dim=value.dim)
    if isinstance(value, FAMILIES["losses"]):
        return build_loss(value)
    if isinstance(value, FAMILIES["backbones"]):
        return build_backbone(value)
    if isinstance(value, FAMILIES["heads"]):
        return build_head(value)
    return value


def _pathway(spec: specs.ResNet3dPathwaySpec) -> ResNet3dPathway:
    kwargs = {name: _argument(getattr(spec, name)) for name in type(spec).model_fields if name != "type"}
    return ResNet3dPathway(**kwargs)


def _slow_pathway(spec: specs.ResNet3dSlowFastSpec) -> ResNet3dPathway:
    """The slow pathway, its laterals taking the backbone's speed and channel ratios (as the reference)."""
    slow = spec.slow_pathway
    if slow.lateral:
        slow = slow.model_copy(update={"speed_ratio": spec.speed_ratio, "channel_ratio": spec.channel_ratio})
    return _pathway(slow)
