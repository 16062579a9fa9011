"""`vidact train` + `vidact proposals bmn` + `vidact eval` on tiny synthetic localization features:
the results file's format, the same AR@AN as the training validation, shards, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from vidact.cli import app
from vidact.data.synth_video import synth_localization
from vidact.engine.checkpoint import save_checkpoint

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "toy" / "bmn.yaml"
TINY = ["model.temporal_dim=16", "model.feat_dim=16", "model.num_samples=4", "model.hidden_dim_1d=16",
        "model.hidden_dim_2d=8", "model.hidden_dim_3d=16", "total_epochs=2", "data.videos_per_gpu=4"]


def _set(data: Path) -> list[str]:
    pairs = [*TINY]
    for split, ann in (("train", "anet_anno_train.json"), ("val", "anet_anno_val.json"), ("test", "anet_anno_val.json")):
        pairs += [f"data.{split}.ann_file={data / ann}", f"data.{split}.data_prefix={data / 'csv_mean_16'}"]
    return [arg for pair in pairs for arg in ("--set", pair)]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth_anet")
    synth_localization(root, num_videos=16, temporal_scale=16, feature_dim=16, seed=1, workers=1, overwrite=True)
    return root


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory) -> Path:
    work_dir = tmp_path_factory.mktemp("work")
    result = CliRunner().invoke(app, ["train", str(RECIPE), "--work-dir", str(work_dir), *_set(data)])
    assert result.exit_code == 0, result.output
    return work_dir


def _proposals(data: Path, checkpoint: Path, out: Path, *extra: str):
    return CliRunner().invoke(app, ["proposals", "bmn", str(RECIPE), "--checkpoint", str(checkpoint),
                                    "--out", str(out), *_set(data), *extra])


def test_results_match_the_training_validation_in_vidact_eval(data, trained, tmp_path):
    best = sorted(trained.glob("best_auc_epoch_*.pth"))
    assert len(best) == 1 and (trained / "best.pth").exists()  # save_best: auto keeps the best AUC
    out = tmp_path / "results.json"
    result = _proposals(data, trained / "best.pth", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["num_videos"] == 4 and summary["split"] == "test"
    written = json.loads(out.read_text())
    assert set(written) == {"version", "results", "external_data", "protocol"} and len(written["results"]) == 4
    assert Path(written["protocol"]["ann_file"]) == (data / "anet_anno_val.json").resolve()
    for proposals in written["results"].values():
        scores = [p["score"] for p in proposals]
        assert 0 < len(scores) <= 100 and scores == sorted(scores, reverse=True)
        assert all(0 <= p["segment"][0] <= p["segment"][1] for p in proposals)
    ev = CliRunner().invoke(app, ["eval", "--metric", "AR@AN", "--ann", str(data / "anet_anno_val.json"), str(out),
                                  "--json"])
    assert ev.exit_code == 0, ev.output
    metrics = json.loads(ev.stdout)["metrics"]
    epoch = int(best[0].stem.rsplit("_", 1)[1])
    logged = [json.loads(line) for line in (trained / "log.jsonl").read_text().splitlines()]
    val = next(r for r in logged if r.get("mode") == "val" and r.get("epoch") == epoch)
    assert metrics["auc"] == pytest.approx(val["auc"]) and metrics["AR@100"] == pytest.approx(val["AR@100"])
    # The results record their annotation file: eval finds the ground truth without --ann.
    recorded = CliRunner().invoke(app, ["eval", "--metric", "AR@AN", str(out), "--json"])
    assert recorded.exit_code == 0, recorded.output
    assert json.loads(recorded.stdout)["metrics"] == metrics


def test_shards_partition_the_videos(data, trained, tmp_path):
    names = []
    for i in range(2):
        out = tmp_path / f"shard{i}.json"
        assert _proposals(data, trained / "latest.pth", out, "--shard", f"{i}/2", "--split", "train").exit_code == 0
        names.append(set(json.loads(out.read_text())["results"]))
    assert not names[0] & names[1] and len(names[0] | names[1]) == 12


def test_checkpoint_of_another_model_exits_2(data, tmp_path):
    ckpt = tmp_path / "tem.pth"
    save_checkpoint(ckpt, model=torch.nn.Linear(2, 2), epoch=1, iteration=1,
                    recipe={"model": {"type": "TEM", "temporal_dim": 16, "tem_feat_dim": 16}})
    result = _proposals(data, ckpt, tmp_path / "r.json")
    assert result.exit_code == 2
    assert str(ckpt) in result.output and "model.type" in result.output
    assert not (tmp_path / "r.json").exists()


def test_wrong_feature_columns_exit_2_naming_the_file(data, trained, tmp_path):
    result = _proposals(data, trained / "latest.pth", tmp_path / "r.json", "--set", "model.feat_dim=8")
    assert result.exit_code == 2  # the checkpoint disagrees with the recipe first
    bad = tmp_path / "features"
    bad.mkdir()
    for csv in (data / "csv_mean_16").glob("*.csv"):
        lines = csv.read_text().splitlines()
        (bad / csv.name).write_text("\n".join(",".join(line.split(",")[:-1]) for line in lines) + "\n")
    result = _proposals(data, trained / "latest.pth", tmp_path / "r.json", "--set", f"data.test.data_prefix={bad}")
    assert result.exit_code == 2 and str(bad) in result.output and "got 16 rows x 15 columns" in result.output


def test_vidact_test_points_bmn_recipes_to_proposals_bmn(data, trained, tmp_path):
    result = CliRunner().invoke(app, ["test", str(RECIPE), "--checkpoint", str(trained / "latest.pth"),
                                      "--out", str(tmp_path / "s.json"), *_set(data)])
    assert result.exit_code == 2 and "vidact proposals bmn" in result.output
