"""The BSN chain recipe: one file naming the TEM and PEM models, the PGM/BSP settings and the data
once; `vidact proposals run` turns it into the TEM and PEM training recipes and runs every stage.

A chain recipe is recognised by its top-level `tem` and `pem` sections (`is_chain_recipe`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import yaml

from vidact.schemas import model as _model
from vidact.schemas import optim as _optim
from vidact.schemas import runtime as _runtime
from vidact.schemas._types import NonNegativeInt, PositiveFloat, PositiveInt, Probability, Spec

SPLITS = ("train", "val", "test")


def is_chain_recipe(data: Mapping[str, Any]) -> bool:
    """Whether a merged recipe mapping is a BSN chain recipe (it has `tem` and `pem` sections)."""
    return isinstance(data, Mapping) and "tem" in data and "pem" in data


class BSNSplitSpec(Spec):
    """One split: its ActivityNet-style annotation file and the folder of per-video feature CSVs."""

    ann_file: str
    data_prefix: str


class BSNDataSpec(Spec):
    """`data`: the three splits, shared by every stage. TEM inference covers all three (a video in
    several splits is scored once); TEM and PEM train on `train`, PEM is validated on `val`, and
    `test` is scored into the chain's results.json."""

    workers_per_gpu: NonNegativeInt = 0
    train: BSNSplitSpec
    val: BSNSplitSpec
    test: BSNSplitSpec


class _StageSpec(Spec):
    """Training settings of one trainable stage."""

    videos_per_gpu: PositiveInt
    optimizer: _optim.Optimizer
    optimizer_config: _optim.OptimizerConfigSpec = _optim.OptimizerConfigSpec()
    lr_config: _optim.LrConfig = _optim.FixedLrSpec(policy="fixed")
    total_epochs: PositiveInt
    checkpoint_config: _runtime.CheckpointConfigSpec = _runtime.CheckpointConfigSpec()
    log_config: _runtime.LogConfigSpec = _runtime.LogConfigSpec()


class TEMStageSpec(_StageSpec):
    """`tem`: the TEM model and how to train it."""

    model: _model.TEMSpec


class PEMStageSpec(_StageSpec):
    """`pem`: the PEM model, how to train it, and how many proposals per video it reads."""

    model: _model.PEMSpec
    train_top_k: PositiveInt = 500
    """Proposals per training video (the reference trains on the top 500)."""
    test_top_k: PositiveInt = 1000
    """Proposals per scored video (the reference scores the top 1000)."""


class PGMSpec(Spec):
    """`pgm`: candidate generation from the TEM curves (`generate_candidate_proposals`)."""

    temporal_scale: PositiveInt | None = None
    """Positions per TEM curve; null means the TEM model's `temporal_dim`."""
    peak_threshold: Probability = 0.5


class BSPSpec(Spec):
    """`bsp`: boundary-sensitive proposal features (`generate_bsp_feature`)."""

    top_k: PositiveInt = 1000
    bsp_boundary_ratio: PositiveFloat = 0.2
    num_sample_start: PositiveInt = 8
    num_sample_end: PositiveInt = 8
    num_sample_action: PositiveInt = 16
    num_sample_interp: PositiveInt = 3


class BSNChainSpec(Spec):
    """A whole BSN run: TEM -> PGM -> BSP -> PEM on one dataset."""

    data: BSNDataSpec
    tem: TEMStageSpec
    pgm: PGMSpec
    bsp: BSPSpec = BSPSpec()
    pem: PEMStageSpec
    seed: int | None = 0
    work_dir: str | None = None
    """Where the stages go; null means `work_dirs/<recipe file stem>`."""
    log_level: _runtime.LogLevel = "INFO"
    kind: Literal["bsn_chain"] = "bsn_chain"
    """Informational: a chain recipe is recognised by its `tem` and `pem` sections."""

    def to_plain(self) -> dict[str, Any]:
        """The recipe as plain YAML/JSON data, defaults filled in."""
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        """The recipe as block-style YAML."""
        from vidact.schemas.recipe import _RecipeDumper

        return yaml.dump(self.to_plain(), Dumper=_RecipeDumper, sort_keys=False, allow_unicode=True, width=100)
