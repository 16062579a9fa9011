"""Training and testing under torchrun (2 gloo processes on CPU) against the same code run alone.

`torchrun_worker.py` trains a one-stage toy TSM for 2 epochs on 6 synthetic videos and scores 7
(an odd number, so a padded sampler repeats one). Alone it accumulates 2 batches of 1 per step;
under torchrun each rank takes a batch of 1 and DDP averages the two, so both runs must take the
same averaged gradients and end with the same parameters, and distributed scoring must return
every sample once, in dataset order, on rank 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vidact.data.synth_video import synth_recognition

pytestmark = pytest.mark.distributed

WORKER = Path(__file__).with_name("torchrun_worker.py")
NUM_EVAL = 7
TIMEOUT_S = 300
GRAD_TOL = {"rtol": 1e-4, "atol": 1e-5}
SCORE_TOL = {"rtol": 1e-5, "atol": 1e-6}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    return env


def _check(proc: subprocess.CompletedProcess, what: str) -> None:
    assert proc.returncode == 0, f"{what} exited with {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Rank files of the single-process run ('single') and of torchrun's ranks 0 and 1."""
    root = tmp_path_factory.mktemp("torchrun_data")
    synth_recognition(root, num_videos_per_class=4, classes=("left", "right"), num_frames=16, size=(32, 32))
    lines = [*(root / "train_list_videos.txt").read_text().splitlines(),
             *(root / "val_list_videos.txt").read_text().splitlines()]
    (root / "eval_list_videos.txt").write_text("\n".join(lines[:NUM_EVAL]) + "\n")
    single, multi = tmp_path_factory.mktemp("single"), tmp_path_factory.mktemp("torchrun")
    # --standalone: a local rendezvous on a free port (what `vidact train --gpus N` starts)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                str(WORKER), str(root), str(multi)]
    with subprocess.Popen(torchrun, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            alone = subprocess.run([sys.executable, str(WORKER), str(root), str(single)], env=_env(),
                                   capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
            out, err = proc.communicate(timeout=TIMEOUT_S)
        except BaseException:
            proc.kill()
            raise
    _check(alone, "single-process worker")
    _check(subprocess.CompletedProcess(torchrun, proc.returncode, out, err), "torchrun")

    def load(path: Path) -> dict:
        return torch.load(path, weights_only=True)

    return {"single": load(single / "rank0.pt"), "rank0": load(multi / "rank0.pt"), "rank1": load(multi / "rank1.pt")}


def test_runs_are_what_they_claim(runs: dict[str, dict]) -> None:
    assert runs["single"]["world_size"] == 1
    assert runs["rank0"]["world_size"] == runs["rank1"]["world_size"] == 2
    assert runs["single"]["train_samples"] == 6 and runs["single"]["eval_samples"] == NUM_EVAL


def test_ddp_steps_take_the_single_process_averaged_gradients(runs: dict[str, dict]) -> None:
    single, rank0, rank1 = runs["single"]["grads"], runs["rank0"]["grads"], runs["rank1"]["grads"]
    assert len(single) == len(rank0) == len(rank1) == 6  # 2 epochs x 6 samples / 2 per step
    for step, (want, got, other) in enumerate(zip(single, rank0, rank1)):
        assert want.keys() == got.keys()
        for name in want:
            torch.testing.assert_close(got[name], want[name], **GRAD_TOL,
                                       msg=lambda m, s=step, n=name: f"step {s} {n}: {m}")
            assert torch.equal(other[name], got[name]), f"step {step} {name}: ranks hold different gradients"
    # the comparison is not vacuous: gradients are non-zero and change from step to step
    assert all(max(g.abs().max() for g in step.values()) > 1e-3 for step in single)
    assert any(not torch.allclose(single[0][n], single[1][n], **GRAD_TOL) for n in single[0])


def test_ddp_parameters_match_the_single_process_run(runs: dict[str, dict]) -> None:
    want, got, other = runs["single"]["params"], runs["rank0"]["params"], runs["rank1"]["params"]
    assert want.keys() == got.keys() == other.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], **GRAD_TOL, msg=lambda m, n=name: f"{n}: {m}")
        assert torch.equal(other[name], got[name]), f"{name}: ranks diverged"


@pytest.mark.parametrize("loader", ["ordered", "padded"])
@pytest.mark.parametrize("gpu_collect", [False, True])
def test_distributed_predict_returns_each_sample_once_in_dataset_order(
        runs: dict[str, dict], loader: str, gpu_collect: bool) -> None:
    want = runs["single"]["scores"]["ordered_gpu_collect_False"]  # one process, plain dataset order
    assert want.shape == (NUM_EVAL, 2)
    # rows are pairwise distinct, so a permutation or a duplicated row cannot pass
    assert torch.cdist(want.double(), want.double()).add(torch.eye(NUM_EVAL) * 1e3).min() > 1e-4
    key = f"{loader}_gpu_collect_{gpu_collect}"
    torch.testing.assert_close(runs["single"]["scores"][key], want, **SCORE_TOL)
    torch.testing.assert_close(runs["rank0"]["scores"][key], want, **SCORE_TOL)
    assert runs["rank1"]["scores"][key].shape[0] == 0  # results are complete on rank 0 only


def test_bn_buffers_broadcast_before_distributed_scoring(runs: dict[str, dict]) -> None:
    rank0, rank1 = runs["rank0"], runs["rank1"]
    # DDP leaves each rank with running statistics updated by its own last batch ...
    trained0, trained1 = rank0["buffers_trained"], rank1["buffers_trained"]
    assert any(not torch.equal(trained0[n], trained1[n]) for n in trained0)
    # ... broadcast_bn_buffers gives every rank rank 0's, and the gathered scores are rank 0's model's
    for name, value in rank0["buffers_synced"].items():
        assert torch.equal(rank1["buffers_synced"][name], value), name
        assert torch.equal(rank0["buffers_trained"][name], value), name
    alone = rank0["trained"]["alone"]
    assert alone.shape == (NUM_EVAL, 2)
    for gpu_collect in (False, True):
        torch.testing.assert_close(rank0["trained"][f"gpu_collect_{gpu_collect}"], alone, **SCORE_TOL)
        assert rank1["trained"][f"gpu_collect_{gpu_collect}"].shape[0] == 0


@pytest.mark.parametrize("run", ["single", "rank0"])
def test_train_recipe_validation_scores_every_sample(runs: dict[str, dict], run: str) -> None:
    """train_recipe's (Dist)EvalHook with gpu_collect: the metrics rank 0 reports are those of the
    epoch's checkpoint scoring the whole validation list alone."""
    metrics = runs[run]["recipe_run"]
    assert set(metrics) == {"top1_acc", "alone_top1_acc"}
    assert float(metrics["top1_acc"]) == pytest.approx(float(metrics["alone_top1_acc"]))
    assert float(metrics["top1_acc"]) * NUM_EVAL == pytest.approx(round(float(metrics["top1_acc"]) * NUM_EVAL))
    if run == "rank0":
        assert runs["rank1"]["recipe_run"] == {}  # metrics are computed on rank 0 only


def test_broadcast_bn_buffers_is_a_no_op_alone() -> None:
    from vidact.engine.distributed import broadcast_bn_buffers

    bn = torch.nn.BatchNorm2d(3)
    bn.running_mean.fill_(0.5)
    broadcast_bn_buffers(torch.nn.Sequential(bn))
    assert torch.equal(bn.running_mean, torch.full((3,), 0.5))


def test_vidact_test_under_torchrun_writes_the_single_process_scores(tmp_path: Path) -> None:
    import json

    from toy_data import RECIPE, make_tiny, overrides, set_args

    from vidact.engine.runs import train_recipe
    from vidact.schemas.load import load_recipe

    root = make_tiny(tmp_path / "data")
    lines = [*(root / "train_list_videos.txt").read_text().splitlines(),
             *(root / "val_list_videos.txt").read_text().splitlines()]
    (root / "eval_list_videos.txt").write_text("\n".join(lines[:NUM_EVAL]) + "\n")  # odd: ranks get 4 and 3
    train_recipe(load_recipe(RECIPE, overrides(root, epochs=1)), work_dir=tmp_path / "work", validate=False)
    args = ["-m", "vidact", "test", str(RECIPE), "--checkpoint", str(tmp_path / "work" / "epoch_1.pth"), "--json",
            "--eval", "top_k_accuracy", "--topk", "1",
            *set_args(root, f"data.test.ann_file={root / 'eval_list_videos.txt'}")]
    alone = subprocess.run([sys.executable, *args, "--out", str(tmp_path / "alone.json")], env=_env(),
                           capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    _check(alone, "vidact test")
    both = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                           *args, "--out", str(tmp_path / "ranks.json")], env=_env(), capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False)
    _check(both, "torchrun vidact test")
    summary_alone, summary_ranks = json.loads(alone.stdout), json.loads(both.stdout)  # one JSON object: rank 0's
    assert summary_ranks["num_samples"] == summary_alone["num_samples"] == NUM_EVAL
    assert summary_ranks["metrics"] == summary_alone["metrics"]
    want = json.loads((tmp_path / "alone.json").read_text())
    got = json.loads((tmp_path / "ranks.json").read_text())
    assert got["protocol"] == want["protocol"]
    torch.testing.assert_close(torch.tensor(got["scores"]), torch.tensor(want["scores"]), **SCORE_TOL)
    assert len({tuple(row) for row in want["scores"]}) == NUM_EVAL  # distinct rows: order is checked
