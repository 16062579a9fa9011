"""The `Recipe` root model, the family -> spec table, and dumping a recipe back to plain data.

A recipe file is MMAction-shaped YAML: `model`, `data`, `optimizer`, `optimizer_config`,
`lr_config` and top-level runtime keys (`total_epochs`, `work_dir`, ...).
"""

from __future__ import annotations

import typing
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from vidact.schemas import data as _data
from vidact.schemas import model as _model
from vidact.schemas import optim as _optim
from vidact.schemas import runtime as _runtime
from vidact.schemas._types import LocalPath, PositiveInt, Spec


class Recipe(Spec):
    """A whole experiment: what to build, what data to feed it, and how to train and evaluate."""

    model: _model.Model
    data: _data.DataSpec
    optimizer: _optim.Optimizer
    optimizer_config: _optim.OptimizerConfigSpec = _optim.OptimizerConfigSpec()
    lr_config: _optim.LrConfig = _optim.FixedLrSpec(policy="fixed")
    total_epochs: PositiveInt
    work_dir: str | None = None
    """Where checkpoints and logs go; null means `work_dirs/<recipe file stem>`."""
    seed: int | None = None
    checkpoint_config: _runtime.CheckpointConfigSpec = _runtime.CheckpointConfigSpec()
    evaluation: _runtime.EvaluationSpec = _runtime.EvaluationSpec()
    log_config: _runtime.LogConfigSpec = _runtime.LogConfigSpec()
    log_level: _runtime.LogLevel = "INFO"
    load_from: LocalPath | None = None
    """Initialise the whole model from this checkpoint (fine-tuning); the epoch restarts at 0."""
    resume_from: LocalPath | None = None
    """Continue an interrupted run: model, optimizer, schedule and epoch."""
    amp: _runtime.AmpSpec = _runtime.AmpSpec()
    dist_params: _runtime.DistParamsSpec = _runtime.DistParamsSpec()
    cudnn_benchmark: bool = False

    def to_plain(self) -> dict[str, Any]:
        """The recipe as plain YAML/JSON data, defaults filled in, keys in declaration order."""
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        """The recipe as block-style YAML; short lists of scalars stay on one line."""
        return yaml.dump(self.to_plain(), Dumper=_RecipeDumper, sort_keys=False, allow_unicode=True, width=100)


class _RecipeDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_list(dumper: yaml.SafeDumper, items: list) -> yaml.Node:
    flat = all(not isinstance(v, (dict, list)) for v in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flat)


_RecipeDumper.add_representer(list, _represent_list)


# ---- families ----------------------------------------------------------------------------------

Family = Literal["models", "backbones", "heads", "losses", "datasets", "pipelines", "optimizers", "lr_policies"]

FAMILIES: dict[str, tuple[type[BaseModel], ...]] = {
    "models": typing.get_args(typing.get_args(_model.Model)[0]),
    "backbones": typing.get_args(typing.get_args(_model.Backbone)[0]),
    "heads": (*typing.get_args(typing.get_args(_model.ClsHead)[0]), _model.SSNHeadSpec),
    "losses": (
        *typing.get_args(typing.get_args(_model.ClsLoss)[0]),
        _model.BinaryLogisticRegressionLossSpec,
        _model.BMNLossSpec,
        _model.SSNLossSpec,
    ),
    "datasets": typing.get_args(typing.get_args(_data.Dataset)[0]),
    "pipelines": typing.get_args(typing.get_args(_data.PipelineStep)[0]),
    "optimizers": typing.get_args(typing.get_args(_optim.Optimizer)[0]),
    "lr_policies": typing.get_args(typing.get_args(_optim.LrConfig)[0]),
}
"""Every buildable spec class per registry family. `heads` and `losses` include the ones that
only SSN, TEM and BMN use, since the builders must know them too."""


def spec_names(family: str) -> list[str]:
    """The `type` (or `policy`) names a family's specs accept, sorted like `Registry.names()`.

    Raises:
        KeyError: for an unknown family; the message lists the known ones.
    """
    try:
        specs = FAMILIES[family]
    except KeyError:
        raise KeyError(f"unknown family '{family}'; known: {', '.join(FAMILIES)}") from None
    return sorted(_tag_of(spec) for spec in specs)


def _tag_of(spec: type[BaseModel]) -> str:
    key = "policy" if "policy" in spec.model_fields else "type"
    (name,) = typing.get_args(spec.model_fields[key].annotation)
    return name
