"""`vidact proposals tem | pem | run` on tiny synthetic localization data (8 videos, 16 positions x
8 features), through the real root app."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vidact.cli import app
from vidact.data.synth_video import synth_localization

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
TEM_RECIPE = RECIPES / "bsn_tem_400x100_activitynet.yaml"


def invoke(*args: object):
    return CliRunner().invoke(app, [*map(str, args)])


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth_anet")
    synth_localization(root, num_videos=8, temporal_scale=16, feature_dim=8, val_ratio=0.25)
    return root


FEATURES = "csv_mean_16"


def data_sets(root: Path, prefix: str = "data") -> list[str]:
    """--set arguments pointing every split at the synthetic data (val also as test)."""
    args = []
    for split, ann in (("train", "anet_anno_train.json"), ("val", "anet_anno_val.json"), ("test", "anet_anno_val.json")):
        args += ["--set", f"{prefix}.{split}.ann_file={root / ann}", "--set", f"{prefix}.{split}.data_prefix={root / FEATURES}"]
    return args


def tem_sets(root: Path, hidden: int = 8) -> list[str]:
    sets = ["model.tem_feat_dim=8", "model.temporal_dim=16", f"model.tem_hidden_dim={hidden}", "total_epochs=1",
            "data.videos_per_gpu=4", "data.workers_per_gpu=0"]
    return data_sets(root) + [arg for value in sets for arg in ("--set", value)]


@pytest.fixture(scope="module")
def tem_ckpt(synth, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("tem_work")
    result = invoke("train", TEM_RECIPE, "--work-dir", work, "--json", *tem_sets(synth))
    assert result.exit_code == 0, result.output
    # validation scores TEM's own boundary-pair proposals
    assert {"auc", "AR@100"} <= set(json.loads(result.stdout)["metrics"])
    return work / "latest.pth"


def test_tem_writes_reference_csvs_and_skips_them_on_a_rerun(synth, tem_ckpt, tmp_path):
    out = tmp_path / "tem_results"
    result = invoke("proposals", "tem", TEM_RECIPE, "-c", tem_ckpt, "--split", "val", "--out", out, "--json",
                    *tem_sets(synth))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    val = json.loads((synth / "anet_anno_val.json").read_text())
    assert summary["written"] == len(val) and summary["skipped"] == 0
    assert sorted(p.stem for p in out.glob("*.csv")) == sorted(val)
    path = next(out.glob("*.csv"))
    assert path.read_text().splitlines()[0] == "action,start,end,tmin,tmax"
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    assert table.shape == (16, 5)
    np.testing.assert_allclose(table[:, 3], np.arange(16) / 16)
    np.testing.assert_allclose(table[:, 4], np.arange(1, 17) / 16)
    before = path.read_bytes()
    again = invoke("proposals", "tem", TEM_RECIPE, "-c", tem_ckpt, "--split", "val", "--out", out, "--json",
                   *tem_sets(synth))
    assert json.loads(again.stdout)["skipped"] == len(val) and path.read_bytes() == before


def test_tem_shards_partition_the_videos(synth, tem_ckpt, tmp_path):
    names = []
    for i in range(3):
        out = tmp_path / f"shard{i}"
        result = invoke("proposals", "tem", TEM_RECIPE, "-c", tem_ckpt, "--split", "train", "--out", out,
                        "--shard", f"{i}/3", *tem_sets(synth))
        assert result.exit_code == 0, result.output
        names += [p.stem for p in out.glob("*.csv")]
    assert sorted(names) == sorted(json.loads((synth / "anet_anno_train.json").read_text()))


def test_tem_feature_file_with_wrong_columns_is_a_one_line_error(synth, tem_ckpt, tmp_path):
    features = tmp_path / "features"
    shutil.copytree(synth / FEATURES, features)
    name = sorted(json.loads((synth / "anet_anno_val.json").read_text()))[0]
    bad = features / f"{name}.csv"
    rows = np.loadtxt(bad, delimiter=",", skiprows=1)[:, :5]
    np.savetxt(bad, rows, delimiter=",", header=",".join(f"f{i}" for i in range(5)), comments="")
    result = invoke("proposals", "tem", TEM_RECIPE, "-c", tem_ckpt, "--split", "val", "--out", tmp_path / "out",
                    *tem_sets(synth), "--set", f"data.val.data_prefix={features}")
    assert result.exit_code == 2
    assert str(bad) in result.stderr and "5 columns" in result.stderr
    assert "Traceback" not in result.output


def test_tem_checkpoint_of_another_model_is_a_one_line_error(synth, tem_ckpt, tmp_path):
    result = invoke("proposals", "tem", TEM_RECIPE, "-c", tem_ckpt, "--split", "val", "--out", tmp_path / "out",
                    *tem_sets(synth, hidden=16))
    assert result.exit_code == 2
    assert str(tem_ckpt) in result.stderr and "tem_hidden_dim" in result.stderr


def chain_sets(root: Path) -> list[str]:
    sets = ["tem.model.tem_feat_dim=8", "tem.model.temporal_dim=16", "tem.model.tem_hidden_dim=8",
            "tem.total_epochs=1", "tem.videos_per_gpu=4", "pem.total_epochs=1", "pem.videos_per_gpu=4",
            "pem.model.pem_hidden_dim=8", "bsp.top_k=50", "pem.train_top_k=20", "pem.test_top_k=50"]
    return data_sets(root) + [arg for value in sets for arg in ("--set", value)]


@pytest.fixture(scope="module")
def chain(synth, tmp_path_factory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("chain") / "bsn"
    result = invoke("proposals", "run", RECIPES / "toy" / "bsn.yaml", "--work-dir", work, "--json", *chain_sets(synth))
    assert result.exit_code == 0, result.output
    return work, json.loads(result.stdout)


def pem_sets(root: Path, work: Path) -> list[str]:
    sets = ["model.pem_hidden_dim=8", "data.workers_per_gpu=0"]
    for split in ("train", "val", "test"):
        sets += [f"data.{split}.pipeline[0].pgm_proposals_dir={work / 'pgm_proposals'}",
                 f"data.{split}.pipeline[0].pgm_features_dir={work / 'pgm_features'}"]
    return data_sets(root) + [arg for value in sets for arg in ("--set", value)]


def test_pem_scores_a_split_like_the_chain(synth, chain, tmp_path):
    work, summary = chain
    out = tmp_path / "results.json"
    result = invoke("proposals", "pem", RECIPES / "bsn_pem_400x100_activitynet.yaml", "-c",
                    summary["stages"]["pem"]["checkpoint"], "--out", out, "--json", *pem_sets(synth, work),
                    "--set", "data.test.pipeline[0].top_k=50")
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == json.loads((work / "results.json").read_text())
    assert json.loads(result.stdout)["metrics"] == summary["metrics"]


def test_train_pem_recipe_validates_with_ar_an(synth, chain, tmp_path):
    work, _ = chain
    result = invoke("train", RECIPES / "bsn_pem_400x100_activitynet.yaml", "--work-dir", tmp_path, "--json",
                    *pem_sets(synth, work), "--set", "total_epochs=2", "--set", "data.videos_per_gpu=4",
                    "--set", "data.train.pipeline[0].top_k=20", "--set", "data.val.pipeline[0].top_k=50")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"auc", "AR@1", "AR@5", "AR@10", "AR@100"} <= set(summary["metrics"])
    assert summary["best_checkpoint"] and "best_auc_epoch_" in summary["best_checkpoint"]


def test_pem_with_a_tem_checkpoint_is_a_one_line_error(synth, chain, tmp_path):
    work, summary = chain
    result = invoke("proposals", "pem", RECIPES / "bsn_pem_400x100_activitynet.yaml", "-c",
                    summary["stages"]["tem"]["checkpoint"], "--out", tmp_path / "r.json", *pem_sets(synth, work))
    assert result.exit_code == 2
    assert summary["stages"]["tem"]["checkpoint"] in result.stderr and "model.type" in result.stderr
    assert not (tmp_path / "r.json").exists()


@pytest.mark.slow
def test_run_chain_writes_results_and_resumes_after_a_removed_stage(synth, chain):
    work, summary = chain
    assert set(summary["stages"]) == {"tem", "tem_results", "pgm_proposals", "pgm_features", "pem", "results"}
    assert not any(stage.get("skipped") for stage in summary["stages"].values())
    videos = {**json.loads((synth / "anet_anno_train.json").read_text()),
              **json.loads((synth / "anet_anno_val.json").read_text())}
    for folder, ext in (("tem_results", ".csv"), ("pgm_proposals", ".csv"), ("pgm_features", ".npy")):
        assert sorted(p.stem for p in (work / folder).glob(f"*{ext}")) == sorted(videos)
    assert np.load(next((work / "pgm_features").glob("*.npy"))).shape[1] == 32
    results = json.loads((work / "results.json").read_text())
    val = json.loads((synth / "anet_anno_val.json").read_text())
    assert set(results) == {"version", "results", "external_data", "protocol"}  # protocol: the annotation file
    assert sorted(results["results"]) == sorted(name.removeprefix("v_") for name in val)
    for name, info in val.items():
        for proposal in results["results"][name.removeprefix("v_")]:
            start, end = proposal["segment"]
            assert 0 <= start <= end <= info["duration_second"] + 1e-6
    assert 0 <= summary["metrics"]["AR@100"] <= 1 and "auc" in summary["metrics"]
    results_before = (work / "results.json").read_bytes()

    rerun = invoke("proposals", "run", RECIPES / "toy" / "bsn.yaml", "--work-dir", work, "--json", *chain_sets(synth))
    assert rerun.exit_code == 0, rerun.output
    assert all(stage.get("skipped") for stage in json.loads(rerun.stdout)["stages"].values())
    assert "changed since the last run" not in rerun.stderr
    changed = invoke("proposals", "run", RECIPES / "toy" / "bsn.yaml", "--work-dir", work, *chain_sets(synth),
                     "--set", "pem.total_epochs=3")
    assert changed.exit_code == 0 and "changed since the last run (pem)" in " ".join(changed.stderr.split())

    features = {p.name: p.read_bytes() for p in (work / "pgm_features").glob("*.npy")}
    shutil.rmtree(work / "pgm_features")
    (work / "results.json").unlink()
    resumed = invoke("proposals", "run", RECIPES / "toy" / "bsn.yaml", "--work-dir", work, "--json", *chain_sets(synth))
    assert resumed.exit_code == 0, resumed.output
    stages = json.loads(resumed.stdout)["stages"]
    assert [name for name, stage in stages.items() if not stage.get("skipped")] == ["pgm_features", "results"]
    assert {p.name: p.read_bytes() for p in (work / "pgm_features").glob("*.npy")} == features
    assert (work / "results.json").read_bytes() == results_before

    # a stage killed half-way (no .done marker, some videos written) redoes only the missing videos
    (work / "tem_results" / ".done").unlink()
    missing = sorted((work / "tem_results").glob("*.csv"))[:3]
    kept = {p.name: p.read_bytes() for p in missing}
    for path in missing:
        path.unlink()
    partial = invoke("proposals", "run", RECIPES / "toy" / "bsn.yaml", "--work-dir", work, "--json", *chain_sets(synth))
    assert partial.exit_code == 0, partial.output
    stage = json.loads(partial.stdout)["stages"]["tem_results"]
    assert not stage.get("skipped") and sum(stage["written"].values()) == 3
    assert {p.name: p.read_bytes() for p in missing} == kept


def test_run_refuses_a_plain_recipe(tmp_path):
    result = invoke("proposals", "run", TEM_RECIPE, "--work-dir", tmp_path)
    assert result.exit_code == 2 and "not a BSN chain recipe" in result.stderr


def test_tem_and_pem_accept_the_chain_recipe(synth, chain, tmp_path):
    work, summary = chain
    out = tmp_path / "tem"
    result = invoke("proposals", "tem", RECIPES / "toy" / "bsn.yaml", "-c", summary["stages"]["tem"]["checkpoint"],
                    "--split", "val", "--out", out, *chain_sets(synth))
    assert result.exit_code == 0, result.output
    for path in out.glob("*.csv"):
        assert path.read_bytes() == (work / "tem_results" / path.name).read_bytes()
    result = invoke("proposals", "pem", RECIPES / "toy" / "bsn.yaml", "-c", summary["stages"]["pem"]["checkpoint"],
                    "--out", tmp_path / "r.json", "--set", f"work_dir={work}", *chain_sets(synth))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.json").read_bytes() == (work / "results.json").read_bytes()


def test_train_refuses_the_chain_recipe(tmp_path):
    result = invoke("train", RECIPES / "toy" / "bsn.yaml", "--work-dir", tmp_path)
    assert result.exit_code == 2 and "vidact proposals run" in result.stderr


def test_train_tem_on_features_of_another_size_is_a_one_line_error(synth, tmp_path):
    result = invoke("train", TEM_RECIPE, "--work-dir", tmp_path, *tem_sets(synth), "--set", "model.tem_feat_dim=7")
    assert result.exit_code == 2
    assert "8 columns" in result.stderr and "tem_feat_dim 7" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("recipe", ["bsn_tem_400x100_activitynet.yaml", "bsn_pem_400x100_activitynet.yaml",
                                    "toy/bsn.yaml"])
def test_vidact_test_points_bsn_recipes_to_proposals(recipe, tmp_path):
    result = invoke("test", RECIPES / recipe, "--checkpoint", tmp_path / "none.pth", "--out", tmp_path / "s.json")
    assert result.exit_code == 2 and "vidact proposals" in result.stderr


@pytest.mark.slow
def test_sigterm_during_tem_training_exits_143_then_the_rerun_resumes(synth, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    work = tmp_path / "bsn"
    args = [sys.executable, "-m", "vidact", "proposals", "run", str(RECIPES / "toy" / "bsn.yaml"), "--work-dir",
            str(work), *chain_sets(synth)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*args, "--set", "tem.total_epochs=400", "--set", "tem.checkpoint_config.interval=1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((work / "tem").glob("epoch_*.pth")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "rerun the same command" in stderr and not (work / "tem" / ".done").exists()
    stopped_at = json.loads(next(iter((work / "tem" / "log.jsonl").read_text().splitlines()[-1:]), "{}")).get("epoch", 0)
    # the rerun (fewer epochs in all) resumes TEM from its checkpoint instead of starting over
    done = subprocess.run([*args, "--set", f"tem.total_epochs={stopped_at + 1}", "--json"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resumed from" in done.stderr and (work / "results.json").is_file()
