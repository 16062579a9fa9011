"""The data registries and the recipe spec unions list exactly the same names."""

from __future__ import annotations

import inspect

import pytest

from vidact.data.registry import DATASETS, PIPELINES
from vidact.schemas.recipe import FAMILIES, spec_names


def test_pipeline_registry_matches_specs():
    assert PIPELINES.names() == spec_names("pipelines")


def test_dataset_registry_matches_specs():
    assert DATASETS.names() == spec_names("datasets")


@pytest.mark.parametrize(("family", "registry"), [("pipelines", PIPELINES), ("datasets", DATASETS)])
def test_every_spec_field_is_a_constructor_parameter(family, registry):
    # Specs are built by passing their fields as keyword arguments, so each must be accepted by name.
    for spec in FAMILIES[family]:
        (name,) = spec.model_fields["type"].annotation.__args__
        params = inspect.signature(registry.get(name)).parameters
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
        missing = [f for f in spec.model_fields if f != "type" and f not in params]
        assert takes_kwargs or not missing, f"{name} does not take {missing}"
