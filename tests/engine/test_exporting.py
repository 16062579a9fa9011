"""`vidact.engine.exporting`: tiny models of every recognizer family exported to TorchScript and ONNX,
run back and compared with PyTorch on fresh inputs (batch 1, and batch 3 for a dynamic batch)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from vidact.engine.checkpoint import save_checkpoint
from vidact.engine.exporting import ExportError, export_recognizer, input_shape, run_exported
from vidact.engine.importing import load_model
from vidact.errors import InputError
from vidact.schemas.load import load_recipe

CROP = 32
R3D = {"pretrained": None, "pretrained2d": False, "depth": 18, "base_channels": 8, "zero_init_residual": False}
# Each family small enough to export in a second or two: few channels, 32 px crops, few frames.
FAMILIES: dict[str, dict[str, Any]] = {
    "TSN": {
        "type": "Recognizer2D",
        "backbone": {"type": "ResNet", "depth": 18, "num_stages": 2, "out_indices": [1], "strides": [1, 2],
                     "dilations": [1, 1]},
        "cls_head": {"type": "TSNHead", "num_classes": 3, "in_channels": 128, "dropout_ratio": 0.5},
        "test_cfg": {"average_clips": "score"},
    },
    "TSM": {
        "type": "Recognizer2D",
        "backbone": {"type": "ResNetTSM", "depth": 18, "num_stages": 2, "out_indices": [1], "strides": [1, 2],
                     "dilations": [1, 1], "num_segments": 4, "shift_div": 4},
        "cls_head": {"type": "TSMHead", "num_classes": 3, "in_channels": 128, "num_segments": 4},
        "test_cfg": {"average_clips": "prob"},
    },
    "TSM-NL": {  # non-local blocks and temporal pooling: more reshapes by the number of segments
        "type": "Recognizer2D",
        "backbone": {"type": "ResNetTSM", "depth": 18, "num_stages": 2, "out_indices": [1], "strides": [1, 2],
                     "dilations": [1, 1], "num_segments": 4, "shift_div": 4, "temporal_pool": True,
                     "non_local": [0, [1, 0]], "non_local_cfg": {"sub_sample": True, "use_scale": False}},
        "cls_head": {"type": "TSMHead", "num_classes": 3, "in_channels": 128, "num_segments": 4,
                     "temporal_pool": True},
        "test_cfg": {"average_clips": "score"},
    },
    "I3D": {
        "type": "Recognizer3D",
        "backbone": {"type": "ResNet3d", **R3D, "conv1_kernel": [3, 7, 7], "conv1_stride_t": 1,
                     "pool1_stride_t": 1, "inflate": [1, [1, 0], 0, 1], "non_local": [0, [1, 0], 0, 0],
                     "non_local_cfg": {"sub_sample": True, "use_scale": False}},
        "cls_head": {"type": "I3DHead", "num_classes": 3, "in_channels": 64},
        "test_cfg": {"average_clips": "prob"},
    },
    "R(2+1)D": {
        "type": "Recognizer3D",
        "backbone": {"type": "ResNet2Plus1d", **R3D, "conv_cfg": {"type": "Conv2plus1d"}, "conv1_kernel": [3, 7, 7],
                     "conv1_stride_t": 1, "pool1_stride_t": 1, "temporal_strides": [1, 2, 2, 2],
                     "norm_cfg": {"type": "BN3d", "requires_grad": True, "eps": 1e-3}},
        "cls_head": {"type": "I3DHead", "num_classes": 3, "in_channels": 64},
        "test_cfg": {"average_clips": "score"},
    },
    "SlowOnly": {
        "type": "Recognizer3D",
        "backbone": {"type": "ResNet3dSlowOnly", **R3D},
        "cls_head": {"type": "I3DHead", "num_classes": 3, "in_channels": 64},
        "test_cfg": {"average_clips": "prob", "max_testing_views": 1},
    },
    "SlowFast": {
        "type": "Recognizer3D",
        "backbone": {
            "type": "ResNet3dSlowFast", "pretrained": None, "resample_rate": 4, "speed_ratio": 4, "channel_ratio": 4,
            "slow_pathway": {"type": "resnet3d", "depth": 18, "pretrained": None, "lateral": True, "speed_ratio": 4,
                             "channel_ratio": 4, "base_channels": 16, "conv1_kernel": [1, 7, 7], "conv1_stride_t": 1,
                             "pool1_stride_t": 1, "inflate": [0, 0, 1, 1], "zero_init_residual": False},
            "fast_pathway": {"type": "resnet3d", "depth": 18, "pretrained": None, "lateral": False,
                             "base_channels": 4, "conv1_kernel": [5, 7, 7], "conv1_stride_t": 1, "pool1_stride_t": 1,
                             "zero_init_residual": False},
        },
        "cls_head": {"type": "SlowFastHead", "num_classes": 3, "in_channels": 160},
        "test_cfg": {"average_clips": None},  # as the reference's SlowFast recipes: one row per view
    },
    "CSN": {
        "type": "Recognizer3D",
        "backbone": {"type": "ResNet3dCSN", **R3D, "depth": 50, "bottleneck_mode": "ir", "with_pool2": False},
        "cls_head": {"type": "I3DHead", "num_classes": 3, "in_channels": 256},
        "test_cfg": {"average_clips": "score"},
    },
}
CLIP_LEN = {"SlowFast": 16}


def tiny_recipe(family: str, tmp_path: Path, *, crop: str = "ThreeCrop") -> Path:
    """A recipe file for the family's tiny model, its test pipeline ending in 32 px crops."""
    is_2d = FAMILIES[family]["type"] == "Recognizer2D"
    sampler = ({"type": "SampleFrames", "clip_len": 1, "frame_interval": 1, "num_clips": 4, "test_mode": True}
               if is_2d else
               {"type": "SampleFrames", "clip_len": CLIP_LEN.get(family, 8), "frame_interval": 1, "num_clips": 2,
                "test_mode": True})
    pipeline = [{"type": "PyAVInit"}, sampler, {"type": "PyAVDecode"}, {"type": "Resize", "scale": [-1, 40]},
                {"type": crop, "crop_size": CROP},
                {"type": "Normalize", "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375]},
                {"type": "FormatShape", "input_format": "NCHW" if is_2d else "NCTHW"},
                {"type": "Collect", "keys": ["imgs"], "meta_keys": []}, {"type": "ToTensor", "keys": ["imgs"]}]
    recipe = {
        "model": FAMILIES[family],
        "data": {"videos_per_gpu": 2, "workers_per_gpu": 0,
                 "test": {"type": "VideoDataset", "ann_file": "missing/test.txt", "data_prefix": "missing",
                          "test_mode": True, "pipeline": pipeline}},
        "optimizer": {"type": "SGD", "lr": 0.01},
        "total_epochs": 1,
    }
    path = tmp_path / f"tiny_{re.sub(r'[^a-z0-9]+', '_', family.lower())}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def tiny_checkpoint(recipe_path: Path, tmp_path: Path, seed: int = 0) -> Path:
    """A vidact checkpoint of the recipe's model with its initial weights perturbed and random batch-norm
    statistics (every tensor matters in the scores; activations keep their initial O(1) scale)."""
    recipe = load_recipe(recipe_path)
    torch.manual_seed(seed)
    model = load_model(recipe)

    def perturbed(key: str, v: torch.Tensor) -> torch.Tensor:
        if not v.is_floating_point():
            return v
        if "running_var" in key:
            return torch.rand_like(v) + 0.5
        return v + 0.1 * torch.randn_like(v) * (v.std() if v.numel() > 1 and v.std() > 0 else 1)

    state = {k: perturbed(k, v) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    path = tmp_path / f"{recipe_path.stem}.pth"
    save_checkpoint(path, model=model, epoch=1, iteration=1, recipe=recipe.to_plain())
    return path


@pytest.mark.parametrize("family", list(FAMILIES))
def test_torchscript_round_trip_with_dynamic_batch(family: str, tmp_path: Path) -> None:
    recipe_path = tiny_recipe(family, tmp_path)
    ckpt = tiny_checkpoint(recipe_path, tmp_path)
    recipe = load_recipe(recipe_path)
    out = tmp_path / "model.pt"
    result = export_recognizer(recipe, ckpt, fmt="torchscript", out=out, dynamic_batch=True)
    assert result.verified and result.max_abs_diff <= 1e-4 and result.verify_batches == (1, 3)
    assert out.is_file() and not list(tmp_path.glob(".*.tmp"))
    # an independent check on a fresh input at batch 3
    imgs = torch.randn((3,) + result.input_shape[1:], generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = load_model(recipe, ckpt).forward_test(imgs).numpy()
    np.testing.assert_allclose(run_exported(out, "torchscript", imgs), expected, atol=1e-4, rtol=0)
    views = 3 if FAMILIES[family]["type"] == "Recognizer2D" else 2 * 3
    assert expected.shape == ((3 * views, 3) if family == "SlowFast" else (3, 3))


def test_input_shape_follows_the_test_pipeline(tmp_path: Path) -> None:
    tsm = load_recipe(tiny_recipe("TSM", tmp_path))
    model = load_model(tsm)
    assert input_shape(tsm, model) == (1, 3 * 4, 3, CROP, CROP)  # 3 crops x 4 segments
    assert input_shape(tsm, model, clips=2, batch=5) == (5, 2 * 4, 3, CROP, CROP)
    slowfast = load_recipe(tiny_recipe("SlowFast", tmp_path, crop="CenterCrop"))
    assert input_shape(slowfast, load_model(slowfast)) == (1, 2, 3, 16, CROP, CROP)  # 2 clips x 1 crop
    assert input_shape(slowfast, load_model(slowfast), input_size=(48, 40))[-2:] == (40, 48)


def test_flow_stacks_a_clip_as_channels(tmp_path: Path) -> None:
    path = tiny_recipe("TSN", tmp_path)
    data = yaml.safe_load(path.read_text())
    data["model"]["backbone"]["in_channels"] = 10
    for step in data["data"]["test"]["pipeline"]:
        if step["type"] == "SampleFrames":
            step.update(clip_len=5, num_clips=3)
        if step["type"] == "FormatShape":
            step["input_format"] = "NCHW_Flow"
    path.write_text(yaml.safe_dump(data))
    recipe = load_recipe(path)
    assert input_shape(recipe, load_model(recipe)) == (1, 3 * 3, 10, CROP, CROP)  # 3 crops x 3 segments


def test_frame_size_unknown_without_data_asks_for_it(tmp_path: Path) -> None:
    path = tiny_recipe("TSM", tmp_path)
    data = yaml.safe_load(path.read_text())
    data["data"]["test"]["pipeline"] = [s for s in data["data"]["test"]["pipeline"]
                                        if s["type"] not in ("ThreeCrop", "Resize")]
    path.write_text(yaml.safe_dump(data))
    recipe = load_recipe(path)
    with pytest.raises(InputError, match="frame size") as info:
        input_shape(recipe, load_model(recipe))
    assert "--input-size" in info.value.hint


def test_fixed_batch_and_clips(tmp_path: Path) -> None:
    recipe_path = tiny_recipe("TSM", tmp_path)
    out = tmp_path / "tsm.pt"
    result = export_recognizer(load_recipe(recipe_path), None, fmt="torchscript", out=out, clips=1)
    assert result.input_shape == (1, 4, 3, CROP, CROP) and result.output_shape == (1, 3)
    assert result.verify_batches == (1,)
    result = export_recognizer(load_recipe(recipe_path), None, fmt="torchscript", out=out, batch=2)
    assert result.input_shape == (2, 12, 3, CROP, CROP) and result.output_shape == (2, 3)
    assert result.verify_batches == (2,)


def test_a_localizer_recipe_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="export supports recognizers.*BMN"):
        export_recognizer(load_recipe("recipes/toy/bmn.yaml"), None, fmt="torchscript", out=tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


def test_disagreeing_output_fails_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vidact.engine.exporting as exporting

    real = exporting.run_exported
    monkeypatch.setattr(exporting, "run_exported", lambda path, fmt, imgs: real(path, fmt, imgs) + 1e-3)
    out = tmp_path / "tsm.pt"
    with pytest.raises(ExportError, match="differs from PyTorch by 0.001"):
        export_recognizer(load_recipe(tiny_recipe("TSM", tmp_path)), None, fmt="torchscript", out=out)
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
def test_onnx_round_trip_with_dynamic_batch(family: str, tmp_path: Path) -> None:
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    recipe_path = tiny_recipe(family, tmp_path)
    ckpt = tiny_checkpoint(recipe_path, tmp_path)
    recipe = load_recipe(recipe_path)
    out = tmp_path / "model.onnx"
    result = export_recognizer(recipe, ckpt, fmt="onnx", out=out, dynamic_batch=True)
    assert result.verified and result.max_abs_diff <= 1e-4
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["imgs"]
    imgs = torch.randn((3,) + result.input_shape[1:], generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = load_model(recipe, ckpt).forward_test(imgs).numpy()
    np.testing.assert_allclose(session.run(None, {"imgs": imgs.numpy()})[0], expected, atol=1e-4, rtol=0)
