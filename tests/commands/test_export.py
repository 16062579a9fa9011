"""`vidact export` on the toy TSM recipe shrunk to one stage (tests/toy_data.py): the frame size read
off the first test video, vidact and MMAction checkpoints, --json, the ONNX extra, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vidact.cli import app
from vidact.engine.checkpoint import save_checkpoint
from vidact.engine.exporting import run_exported
from vidact.engine.importing import load_model
from vidact.schemas.load import load_recipe

from mmaction_names import to_mmaction_2d
from toy_data import RECIPE, make_tiny, overrides, set_args


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny(tmp_path_factory.mktemp("tiny_synth"))


@pytest.fixture(scope="module")
def ckpt(tiny, tmp_path_factory) -> Path:
    recipe = load_recipe(RECIPE, overrides(tiny))
    torch.manual_seed(0)
    model = load_model(recipe)
    path = tmp_path_factory.mktemp("ckpt") / "tsm.pth"
    save_checkpoint(path, model=model, epoch=1, iteration=1, recipe=recipe.to_plain())
    return path


def export_args(tiny: Path, ckpt: Path, out: Path, *extra: str, fmt: str = "torchscript") -> list[str]:
    return ["export", str(RECIPE), "--checkpoint", str(ckpt), "--format", fmt, "--out", str(out),
            *set_args(tiny), *extra]


def test_torchscript_export_json_and_round_trip(runner, tiny, ckpt, tmp_path) -> None:
    out = tmp_path / "tsm.pt"
    result = runner.invoke(app, export_args(tiny, ckpt, out, "--batch", "dynamic", "--json"))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    # 8 segments x 1 view, 32x32 frames: the toy pipeline has no crop, so the first test video tells
    assert summary["input_shape"] == [-1, 8, 3, 32, 32] and summary["output_shape"] == [-1, 2]
    assert summary["format"] == "torchscript" and summary["out"] == str(out) and summary["verified"] is True
    assert 0 <= summary["max_abs_diff"] <= 1e-4 and summary["seconds"] > 0
    assert "verified: max |exported - PyTorch|" in result.stderr
    assert "input [N, 8, 3, 32, 32] -> output [N, 2]" in result.stderr
    imgs = torch.randn(3, 8, 3, 32, 32)
    with torch.no_grad():
        expected = load_model(load_recipe(RECIPE, overrides(tiny)), ckpt).forward_test(imgs).numpy()
    np.testing.assert_allclose(run_exported(out, "torchscript", imgs), expected, atol=1e-4, rtol=0)


def test_the_exported_file_scores_pipeline_input_as_vidact_test_does(runner, tiny, ckpt, tmp_path) -> None:
    from vidact.data.build import build_dataset
    from vidact.engine.runs import test_recipe
    from vidact.io.scores import read_scores

    out = tmp_path / "tsm.pt"
    assert runner.invoke(app, export_args(tiny, ckpt, out, "--batch", "dynamic")).exit_code == 0
    recipe = load_recipe(RECIPE, overrides(tiny))
    test_recipe(recipe, checkpoint=ckpt, out=tmp_path / "scores.json")
    expected = read_scores(tmp_path / "scores.json").scores
    dataset = build_dataset(recipe.data.test, {"test_mode": True})
    imgs = torch.stack([dataset[i]["imgs"] for i in range(len(dataset))])  # the test pipeline's output
    np.testing.assert_allclose(run_exported(out, "torchscript", imgs), expected, atol=1e-4, rtol=0)


def test_an_mmaction_checkpoint_is_imported_on_the_fly(runner, tiny, ckpt, tmp_path) -> None:
    state = torch.load(ckpt, weights_only=True)["state_dict"]
    mm = tmp_path / "tsm_mm.pth"
    torch.save({"meta": {"mmaction_version": "1.2.0"},
                "state_dict": {to_mmaction_2d(k, tsm=True): v for k, v in state.items()}}, mm)
    out = tmp_path / "tsm.pt"
    result = runner.invoke(app, export_args(tiny, mm, out, "--clips", "2", "--input-size", "40x36"))
    assert result.exit_code == 0, result.output
    assert "imported on the fly" in " ".join(result.stderr.split()) and out.is_file()
    assert "input [1, 16, 3, 36, 40] -> output [1, 2]" in result.stderr  # 2 views x 8 segments, W=40 H=36


def test_num_classes_mismatch_exits_2_with_both_numbers(runner, tiny, ckpt, tmp_path) -> None:
    mm = tmp_path / "tsm_mm.pth"
    state = torch.load(ckpt, weights_only=True)["state_dict"]
    torch.save({"state_dict": {to_mmaction_2d(k, tsm=True): v for k, v in state.items()}}, mm)
    out = tmp_path / "x.pt"
    result = runner.invoke(app, export_args(tiny, mm, out, "--set", "model.cls_head.num_classes=5"))
    assert result.exit_code == 2, result.output
    assert "2 classes" in result.stderr and "5" in result.stderr and not out.exists()


def test_a_vidact_checkpoint_of_another_recipe_exits_2(runner, tiny, ckpt, tmp_path) -> None:
    out = tmp_path / "x.pt"
    result = runner.invoke(app, export_args(tiny, ckpt, out, "--set", "model.cls_head.num_classes=5"))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error:") and "classes" in result.stderr and not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--checkpoint", "nope.pth"], "no such checkpoint file"),
    (["--batch", "many"], "'dynamic'"),
    (["--input-size", "big"], "WxH"),
    (["--clips", "0"], "--clips"),
])
def test_bad_options_exit_2(runner, tiny, ckpt, tmp_path, args, message) -> None:
    out = tmp_path / "x.pt"
    result = runner.invoke(app, export_args(tiny, ckpt, out, *args))
    assert result.exit_code == 2 and message in result.stderr and not out.exists()


def test_missing_recipe_and_localizers_exit_2(runner, ckpt, tmp_path) -> None:
    out = str(tmp_path / "x.pt")
    result = runner.invoke(app, ["export", "missing.yaml", "--checkpoint", str(ckpt), "-f", "torchscript", "-o", out])
    assert result.exit_code == 2 and "missing.yaml" in result.stderr
    result = runner.invoke(app, ["export", "recipes/toy/bmn.yaml", "--checkpoint", str(ckpt), "-f", "onnx", "-o", out])
    assert result.exit_code == 2 and "export supports recognizers" in result.stderr and "BMN" in result.stderr


def test_a_disagreeing_file_exits_1_unless_tolerated(runner, tiny, ckpt, tmp_path, monkeypatch) -> None:
    import vidact.engine.exporting as exporting

    real = exporting.run_exported
    monkeypatch.setattr(exporting, "run_exported", lambda path, fmt, imgs: real(path, fmt, imgs) + 1e-3)
    out = tmp_path / "x.pt"
    result = runner.invoke(app, export_args(tiny, ckpt, out))
    assert result.exit_code == 1 and "differs from PyTorch by 0.001" in result.stderr and not out.exists()
    result = runner.invoke(app, export_args(tiny, ckpt, out, "--tolerance", "1e-2"))
    assert result.exit_code == 0 and "(tolerance 0.01)" in result.stderr and out.is_file()


def test_onnx_without_the_extra_says_how_to_install(runner, tiny, ckpt, tmp_path, monkeypatch) -> None:
    import vidact.engine.exporting as exporting

    monkeypatch.setattr(exporting, "onnx_available", lambda: (False, False))
    out = tmp_path / "x.onnx"
    result = runner.invoke(app, export_args(tiny, ckpt, out, fmt="onnx"))
    assert result.exit_code == 2 and "pip install 'vidact[onnx]'" in result.stderr and not out.exists()


@pytest.mark.slow
def test_onnx_without_onnxruntime_is_written_unverified(runner, tiny, ckpt, tmp_path, monkeypatch) -> None:
    pytest.importorskip("onnxscript")
    import vidact.engine.exporting as exporting

    monkeypatch.setattr(exporting, "onnx_available", lambda: (True, False))
    out = tmp_path / "tsm.onnx"
    result = runner.invoke(app, export_args(tiny, ckpt, out, "--json", fmt="onnx"))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["verified"] is False and summary["max_abs_diff"] is None and out.is_file()
    assert "note: verification skipped: onnxruntime is not installed" in " ".join(result.stderr.split())


@pytest.mark.slow
def test_onnx_export_in_a_real_process(tiny, ckpt, tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    out = tmp_path / "tsm.onnx"
    path = os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    proc = subprocess.run([sys.executable, "-m", "vidact", *export_args(tiny, ckpt, out, "--json", fmt="onnx")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)  # exactly one JSON object: the exporter's chatter stays off stdout
    assert summary["format"] == "onnx" and summary["verified"] and summary["max_abs_diff"] <= 1e-4
    assert summary["input_shape"] == [1, 8, 3, 32, 32] and out.is_file()
