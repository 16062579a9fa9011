"""SSN validation during training (`evaluation` on data.val): THUMOS'14 mAP in the log, best.pth by the
key indicator, the same numbers as `vidact test` + `SSNDataset.evaluate`, and no effect on training."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from typer.testing import CliRunner

from tests.commands.test_ssn_cli import RECIPE, tiny_dataset, toy_overrides
from vidact.cli import app
from vidact.engine.ssn_runs import check_ssn_validation
from vidact.engine.trainer import forward_batch
from vidact.errors import RecipeError
from vidact.schemas.load import load_recipe
from vidact.schemas.runtime import EvaluationSpec

THUMOS_KEYS = [f"mAP@{t / 10:.2f}" for t in range(1, 10)] + ["average_mAP"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tiny_dataset(tmp_path_factory.mktemp("ssn_val"))
    proposals = root / "proposals.txt"
    result = CliRunner().invoke(app, ["dataset", "synth-proposals", str(root / "gt.json"), "--classes",
                                      str(root / "classes.txt"), "--out", str(proposals)])
    assert result.exit_code == 0, result.output
    return root, proposals


def _records(work_dir: Path, mode: str) -> list[dict]:
    lines = (work_dir / "log.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("mode") == mode]


@pytest.mark.slow  # ~15 s: two 2-epoch trainings and a test pass
def test_validation_logs_thumos_map_and_leaves_training_unchanged(toy: tuple[Path, Path], tmp_path: Path) -> None:
    from vidact.engine.runs import test_recipe, train_recipe

    recipe = load_recipe(RECIPE, [*toy_overrides(*toy, epochs=2), "evaluation.interval=1", "log_config.interval=1"])
    validated = train_recipe(recipe, work_dir=tmp_path / "val")
    plain = train_recipe(recipe, work_dir=tmp_path / "plain", validate=False)
    # Validation scores a copy-free test form (no weight is rewritten) in eval mode: the losses of
    # every step and the final weights are those of the run without it.
    losses = [[r["loss"] for r in _records(tmp_path / name, "train")] for name in ("val", "plain")]
    assert len(losses[0]) == 6 and losses[0] == losses[1]
    a = torch.load(tmp_path / "val" / "epoch_2.pth", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "plain" / "epoch_2.pth", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert plain["metrics"] == {} and plain["best_checkpoint"] is None

    vals = _records(tmp_path / "val", "val")
    assert [r["epoch"] for r in vals] == [1, 2]
    assert all(list(r)[2:] == THUMOS_KEYS for r in vals)
    assert validated["metrics"] == {k: vals[1][k] for k in THUMOS_KEYS}
    best = max((1, 2), key=lambda e: (vals[e - 1]["mAP@0.50"], -e))  # the first epoch reaching the best
    assert Path(validated["best_checkpoint"]).name == f"best_mAP@0.50_epoch_{best}.pth"
    # The same numbers as testing that epoch's checkpoint and evaluating the raw outputs.
    tested = test_recipe(recipe, checkpoint=tmp_path / "val" / "epoch_2.pth", out=tmp_path / "raw.npz",
                         metrics=["mAP"])
    assert tested["metrics"] == pytest.approx({k: vals[1][k] for k in THUMOS_KEYS}, abs=1e-6)


def test_forward_batch_passes_the_test_keys_a_model_declares() -> None:
    class Model(torch.nn.Module):
        test_batch_keys = ("ticks", "absent")

        def forward(self, imgs, return_loss=True, **kwargs):
            return sorted(kwargs)

    batch = {"imgs": torch.zeros(1), "ticks": torch.zeros(1), "label": torch.zeros(1)}
    assert forward_batch(Model(), batch, return_loss=False) == ["ticks"]


@pytest.mark.parametrize(("settings", "message"), [
    ({"metrics": ["top_k_accuracy"], "key_indicator": "mAP@0.50"}, "computes mAP, not top_k_accuracy"),
    ({"metrics": ["mAP"]}, "not 'top1_acc'"),  # the default key indicator
])
def test_ssn_validation_settings_are_checked_up_front(settings: dict, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        check_ssn_validation(EvaluationSpec.model_validate(settings))
    check_ssn_validation(EvaluationSpec.model_validate({"metrics": ["mAP"], "key_indicator": "average_mAP"}))
    check_ssn_validation(EvaluationSpec.model_validate({"metrics": ["mAP"], "save_best": "auto"}))
    check_ssn_validation(SimpleNamespace(metrics=("mAP",), save_best=False, key_indicator="top1_acc"))


@pytest.mark.parametrize("split", ["val", "test"])
def test_frame_interval_and_tick_interval_must_agree(toy: tuple[Path, Path], tmp_path: Path, split: str) -> None:
    # Ticks computed every 2 frames over frames sampled every 6 would point past the video: NaN scores.
    sets = [a for s in [*toy_overrides(*toy), f"data.{split}.pipeline[0].test_interval=6"] for a in ("--set", s)]
    command = ["train", str(RECIPE), "--work-dir", str(tmp_path / "w")] if split == "val" else \
        ["test", str(RECIPE), "--checkpoint", str(tmp_path / "none.pth"), "--out", str(tmp_path / "raw.json")]
    result = CliRunner().invoke(app, [*command, *sets])
    assert result.exit_code == 2
    assert f"data.{split}: SampleProposalFrames samples every 6 frames but test_cfg" in result.stderr


def test_bad_ssn_evaluation_fails_before_training(toy: tuple[Path, Path], tmp_path: Path) -> None:
    sets = [a for s in [*toy_overrides(*toy), "evaluation.metrics=[top_k_accuracy]"] for a in ("--set", s)]
    result = CliRunner().invoke(app, ["train", str(RECIPE), "--work-dir", str(tmp_path / "w"), *sets])
    assert result.exit_code == 2 and "evaluation.metrics" in result.stderr
    assert not (tmp_path / "w" / "epoch_1.pth").exists()
