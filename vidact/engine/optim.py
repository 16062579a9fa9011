"""Optimizers by name, the reference's parameter-group constructors, and gradient clipping.

`build_optimizer(model, recipe.optimizer)` is the entry point: the spec names a `torch.optim` class
(or `CopyOfSGD`) and a `constructor` that decides the parameter groups and their lr/wd multipliers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import torch
from pydantic import BaseModel, TypeAdapter, ValidationError
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from vidact.errors import RecipeError
from vidact.registry import Registry
from vidact.schemas import optim as specs

log = logging.getLogger(__name__)

OPTIMIZERS: Registry[type[torch.optim.Optimizer]] = Registry("optimizer")
CONSTRUCTORS: Registry[type[DefaultOptimizerConstructor]] = Registry("optimizer constructor")

for _cls in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop):
    OPTIMIZERS.register(_cls.__name__)(_cls)

_NORMS = (_BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)


@OPTIMIZERS.register()
class CopyOfSGD(torch.optim.SGD):
    """A clone of `torch.optim.SGD`: the reference's example of a custom optimizer.

    Derive from a `torch.optim` class (or `torch.optim.Optimizer`) and register it in
    `OPTIMIZERS` to make a new optimizer available to recipes.
    """


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel/DataParallel wrapper (or `model` itself)."""
    return model.module if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)) else model


@CONSTRUCTORS.register()
class DefaultOptimizerConstructor:
    """Builds an optimizer over all of a model's parameters, with optional per-kind multipliers.

    Args:
        optimizer_cfg: the optimizer's `type` plus its keyword arguments (`lr`, `weight_decay`, ...).
        paramwise_cfg: `bias_lr_mult` (biases outside norm layers), `bias_decay_mult` (biases
            outside norm layers), `norm_decay_mult` (weights and biases of norm layers). Without
            any of them every parameter sits in one group with the optimizer's defaults.
    """

    def __init__(self, optimizer_cfg: Mapping[str, Any], paramwise_cfg: Mapping[str, Any] | None = None) -> None:
        cfg = dict(optimizer_cfg)
        if "type" not in cfg or "lr" not in cfg:
            raise RecipeError(f"optimizer needs 'type' and 'lr', got keys {sorted(cfg)}")
        self.optimizer_type: str = cfg.pop("type")
        self.optimizer_kwargs: dict[str, Any] = cfg
        self.paramwise_cfg: dict[str, Any] = {k: v for k, v in dict(paramwise_cfg or {}).items() if v is not None}
        self.base_lr: float = float(cfg["lr"])
        self.base_wd: float = float(cfg.get("weight_decay", 0.0))

    def add_params(self, params: list[dict[str, Any]], model: nn.Module) -> None:
        """Append parameter groups (dicts with `params`, `lr`, `weight_decay`) for `model` to `params`."""
        bias_lr = self.paramwise_cfg.get("bias_lr_mult", 1.0)
        bias_wd = self.paramwise_cfg.get("bias_decay_mult", 1.0)
        norm_wd = self.paramwise_cfg.get("norm_decay_mult", 1.0)
        groups: dict[tuple[float, float], list[nn.Parameter]] = {}
        for module in model.modules():
            is_norm = isinstance(module, _NORMS)
            for name, param in module.named_parameters(recurse=False):
                lr_mult, wd_mult = 1.0, 1.0
                if is_norm:
                    wd_mult = norm_wd
                elif name == "bias":
                    lr_mult, wd_mult = bias_lr, bias_wd
                groups.setdefault((lr_mult, wd_mult), []).append(param)
        for (lr_mult, wd_mult), group in groups.items():
            params.append(
                {"params": group, "lr": self.base_lr * lr_mult, "weight_decay": self.base_wd * wd_mult}
            )

    def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
        """Build the optimizer for `model` (a DDP wrapper is looked through)."""
        model = unwrap_model(model)
        optimizer_cls = OPTIMIZERS.get(self.optimizer_type)
        if not self.paramwise_cfg:
            return optimizer_cls(model.parameters(), **self.optimizer_kwargs)
        params: list[dict[str, Any]] = []
        self.add_params(params, model)
        return optimizer_cls(params, **self.optimizer_kwargs)


@CONSTRUCTORS.register()
class TSMOptimizerConstructor(DefaultOptimizerConstructor):
    """Parameter groups of the TSM paper's training recipe.

    Seven groups, always in this order (some may be empty), each with a `name` key:

    ============================  ===========  =========  =========================================
    group                         lr           wd         parameters
    ============================  ===========  =========  =========================================
    first_conv_weight             1x           1x         weight of the model's first conv layer
    first_conv_bias               2x           0          its bias (when it has one)
    normal_weight                 1x           1x         weights of every other conv and linear
    normal_bias                   2x           0          their biases
    bn                            1x           0          norm layers (BN, GN, LN, IN)
    lr5_weight                    5x           1x         with `fc_lr5`: the last fc of `cls_head`
    lr10_bias                     10x          0          with `fc_lr5`: its bias
    ============================  ===========  =========  =========================================

    The multipliers are those of the reference implementation, which is what reproduces the
    published TSM numbers (its docstring's "10x weight decay" for the fc is, in code, 10x lr on
    the fc bias). "First conv" is the first conv module in `model.modules()` order (the stem).
    Every parameter of a conv, linear or norm layer lands in exactly one group, frozen ones
    included (they get no gradient, so the optimizer skips them). As in the reference, the bare
    parameters of a non-leaf module (e.g. a learnable scale on the model itself) join no group and
    are not trained; a warning names them.

    Raises:
        RecipeError (a ValueError): a leaf module of a type this policy does not cover that owns
            parameters.
    """

    def add_params(self, params: list[dict[str, Any]], model: nn.Module) -> None:
        """Append the seven TSM groups for `model` to `params`."""
        fc_lr5 = bool(self.paramwise_cfg.get("fc_lr5", False))
        named: dict[str, list[nn.Parameter]] = {
            k: [] for k in ("first_conv_weight", "first_conv_bias", "normal_weight", "normal_bias", "bn")
        }
        last_fc = _last_fc(model)
        fc_params = {id(p) for p in last_fc.parameters()} if fc_lr5 and last_fc is not None else set()
        seen_conv = False
        untrained: list[str] = []
        for path, module in model.named_modules():
            own = [(n, p) for n, p in module.named_parameters(recurse=False) if id(p) not in fc_params]
            if isinstance(module, _ConvNd):
                prefix = "normal" if seen_conv else "first_conv"
                seen_conv = True
                for name, param in own:
                    named[f"{prefix}_{'bias' if name == 'bias' else 'weight'}"].append(param)
            elif isinstance(module, nn.Linear):
                for name, param in own:
                    named[f"normal_{'bias' if name == 'bias' else 'weight'}"].append(param)
            elif isinstance(module, _NORMS):
                named["bn"].extend(p for _, p in own)
            elif own and not any(True for _ in module.children()):
                raise RecipeError(
                    f"TSMOptimizerConstructor: no learning policy for {type(module).__name__} "
                    f"parameters ({', '.join(n for n, _ in own)}); use DefaultOptimizerConstructor"
                )
            else:
                # As the reference: a container's own parameters join no group (so are not trained).
                untrained.extend(f"{path}.{n}" if path else n for n, _ in own)
        if untrained:
            log.warning("TSMOptimizerConstructor: %s belong to no parameter group and are not trained "
                        "(bare parameters of non-leaf modules, as in the reference)", ", ".join(untrained))
        lr, wd = self.base_lr, self.base_wd
        fc_weight = [last_fc.weight] if fc_params else []
        fc_bias = [last_fc.bias] if fc_params and last_fc.bias is not None else []
        for name, group, lr_mult, wd_mult in (
            ("first_conv_weight", named["first_conv_weight"], 1, 1),
            ("first_conv_bias", named["first_conv_bias"], 2, 0),
            ("normal_weight", named["normal_weight"], 1, 1),
            ("normal_bias", named["normal_bias"], 2, 0),
            ("bn", named["bn"], 1, 0),
            ("lr5_weight", fc_weight, 5, 1),
            ("lr10_bias", fc_bias, 10, 0),
        ):
            params.append({"params": group, "lr": lr * lr_mult, "weight_decay": wd * wd_mult, "name": name})

    def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
        """Build the optimizer over the seven TSM groups of `model`."""
        model = unwrap_model(model)
        params: list[dict[str, Any]] = []
        self.add_params(params, model)
        return OPTIMIZERS.get(self.optimizer_type)(params, **self.optimizer_kwargs)


def _last_fc(model: nn.Module) -> nn.Linear | None:
    """The last `nn.Linear` inside `model.cls_head` (or inside `model` when it has no head)."""
    scope = getattr(model, "cls_head", None)
    scope = scope if isinstance(scope, nn.Module) else model
    linears = [m for m in scope.modules() if isinstance(m, nn.Linear)]
    return linears[-1] if linears else None


_OPTIMIZER_SPEC: TypeAdapter[Any] = TypeAdapter(specs.Optimizer)


def build_optimizer(model: nn.Module, spec: BaseModel | Mapping[str, Any]) -> torch.optim.Optimizer:
    """Build the optimizer a recipe's `optimizer` section describes for `model`.

    Args:
        model: the model (or its DDP wrapper).
        spec: a validated optimizer spec, or a dict with the same keys (validated here).

    Raises:
        RecipeError: an invalid dict spec, or an unknown optimizer/constructor name.
    """
    if not isinstance(spec, BaseModel):
        try:
            spec = _OPTIMIZER_SPEC.validate_python(dict(spec))
        except ValidationError as exc:
            raise RecipeError(f"invalid optimizer spec: {_first_error(exc)}") from None
    cfg = spec.model_dump()
    constructor = CONSTRUCTORS.get(cfg.pop("constructor"))
    paramwise_cfg = cfg.pop("paramwise_cfg")
    return constructor(cfg, paramwise_cfg)(model)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}" if loc else err["msg"]


def clip_grads(
    params: Iterable[nn.Parameter] | Iterator[nn.Parameter], max_norm: float, norm_type: float = 2
) -> torch.Tensor | None:
    """Clip the global norm of the gradients of `params` to `max_norm` in place.

    Returns:
        The total norm before clipping (a 0-d tensor, left on its device so no sync happens),
        or None when no parameter has a gradient.
    """
    grads = [p for p in params if p.requires_grad and p.grad is not None]
    if not grads:
        return None
    return nn.utils.clip_grad_norm_(grads, max_norm=max_norm, norm_type=norm_type)
