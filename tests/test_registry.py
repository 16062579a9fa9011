"""The registry refuses duplicates and teaches on unknown names."""

from __future__ import annotations

import pytest

from vidact.errors import RecipeError
from vidact.registry import Registry, did_you_mean


def test_register_and_get():
    reg: Registry = Registry("transform")

    @reg.register()
    class SampleFrames:
        pass

    assert reg.get("SampleFrames") is SampleFrames
    assert "SampleFrames" in reg and reg.names() == ["SampleFrames"] and len(reg) == 1


def test_duplicate_name_refused():
    reg: Registry = Registry("model")
    reg.register("A")(object)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("A")(int)


def test_unknown_name_suggests():
    reg: Registry = Registry("backbone")
    reg.register("ResNetTSM")(object)
    reg.register("ResNet3d")(object)
    with pytest.raises(RecipeError, match="did you mean 'ResNetTSM'"):
        reg.get("ResNetTSN")
    with pytest.raises(RecipeError, match="known: ResNet3d, ResNetTSM"):
        reg.get("Transformer")


def test_did_you_mean_is_case_insensitive():
    assert did_you_mean("samplefarmes", ["SampleFrames", "Resize"]) == "SampleFrames"
    assert did_you_mean("zzz", ["SampleFrames"]) is None
