"""Checkpoints: exact round trips, atomic writes, weights_only loading, 'auto' resume, links,
pruning and recipe compatibility."""

from __future__ import annotations

import logging
import os
import random
import signal
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from vidact.engine.checkpoint import (
    check_compatible,
    load_checkpoint,
    prune_checkpoints,
    restore_rng,
    resume,
    rng_state,
    save_checkpoint,
    update_links,
)
from vidact.engine.schedules import build_lr_scheduler
from vidact.errors import CheckpointError

RECIPE = {
    "model": {
        "type": "Recognizer2D",
        "backbone": {"type": "ResNetTSM", "depth": 18, "pretrained": None, "num_segments": 8},
        "cls_head": {"type": "TSMHead", "num_classes": 4, "in_channels": 512, "dropout_ratio": 0.5},
    },
    "total_epochs": 3,
}


class Parts:
    """A small model with its optimizer, schedule and scaler, trained a few steps."""

    def __init__(self, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
        self.scheduler = build_lr_scheduler(
            self.optimizer, {"policy": "step", "step": [1], "warmup": "linear", "warmup_iters": 2},
            iters_per_epoch=2, total_epochs=3,
        )  # fmt: skip
        self.scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)

    def train(self, iterations: range) -> list[float]:
        losses = []
        for i in iterations:
            self.scheduler.step(i)
            x = torch.randn(6, 4) + float(np.random.rand()) + random.random()
            loss = self.model(x).pow(2).mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            losses.append(loss.item())
        return losses

    def save(self, path: Path, iteration: int, **kwargs) -> Path:
        return save_checkpoint(
            path, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler, scaler=self.scaler,
            epoch=iteration // 2, iteration=iteration, **kwargs,
        )  # fmt: skip

    def resume(self, path, work_dir: Path, **kwargs):
        return resume(
            path, work_dir, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler, scaler=self.scaler,
            **kwargs,
        )  # fmt: skip


def test_round_trip_continues_exactly(tmp_path: Path) -> None:
    reference = Parts()
    reference.train(range(3))
    path = reference.save(tmp_path / "iter_3.pth", 3, recipe=RECIPE, extra={"sampler_position": 7})
    want = reference.train(range(3, 6))

    resumed = Parts(seed=1)  # different initial weights and RNG, all overwritten by resume
    np.random.seed(123), random.seed(123)
    state = resumed.resume(path, tmp_path)
    assert (state.epoch, state.iteration, state.extra, state.path) == (1, 3, {"sampler_position": 7}, path)
    assert resumed.train(range(3, 6)) == want
    for a, b in zip(reference.model.state_dict().values(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert resumed.scaler.get_scale() == 1024.0
    assert resumed.scheduler.get_lr() == reference.scheduler.get_lr()


def test_weights_only_load_and_contents(tmp_path: Path) -> None:
    parts = Parts()
    wrapped = nn.DataParallel(parts.model)
    path = save_checkpoint(tmp_path / "a.pth", model=wrapped, epoch=2, iteration=10, recipe=RECIPE)
    raw = torch.load(path, weights_only=True)  # must not need any allow-listed globals
    assert set(raw) == {"format", "meta", "state_dict", "optimizer", "scheduler", "scaler", "rng", "recipe", "extra"}
    assert not any(k.startswith("module.") for k in raw["state_dict"])
    assert raw["optimizer"] is None and raw["recipe"] == RECIPE and raw["meta"]["vidact_version"]
    assert load_checkpoint(path)["meta"]["iter"] == 10 and raw["meta"]["epoch"] == 2


def test_rng_state_restores_every_generator() -> None:
    state = rng_state()
    first = (random.random(), np.random.rand(3).tolist(), np.random.randn(), torch.rand(3).tolist())
    restore_rng(state)
    assert (random.random(), np.random.rand(3).tolist(), np.random.randn(), torch.rand(3).tolist()) == first


def test_crash_mid_save_keeps_the_old_file(tmp_path: Path) -> None:
    parts = Parts()
    path = parts.save(tmp_path / "latest_run.pth", 1)
    before = path.read_bytes()

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("simulated crash while writing")

    with pytest.raises(RuntimeError, match="simulated crash"):
        parts.save(path, 2, extra={"boom": Unpicklable()})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest_run.pth"]  # temp file removed


def _save_then_die_mid_save(work_dir: str) -> None:
    parts = Parts()
    parts.save(Path(work_dir) / "epoch_1.pth", 2)

    class DieMidWrite:
        def __reduce__(self):
            os.kill(os.getpid(), signal.SIGKILL)  # the process dies with half a checkpoint written

    parts.save(Path(work_dir) / "epoch_2.pth", 4, extra={"die": DieMidWrite()})


@pytest.mark.skipif(not hasattr(signal, "SIGKILL") or "fork" not in mp.get_all_start_methods(), reason="POSIX")
def test_sigkill_mid_save_then_auto_resume(tmp_path: Path) -> None:
    proc = mp.get_context("fork").Process(target=_save_then_die_mid_save, args=(str(tmp_path),))
    proc.start()
    proc.join(timeout=60)
    assert proc.exitcode == -signal.SIGKILL
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0].startswith(".epoch_2.pth.") and names[1:] == ["epoch_1.pth"]  # temp file, never epoch_2.pth
    state = Parts(seed=5).resume("auto", tmp_path)
    assert state.path == tmp_path / "epoch_1.pth" and state.iteration == 2


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="missing.pth: no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.pth: corrupt"):
        load_checkpoint(bad)
    unsafe = tmp_path / "unsafe.pth"
    torch.save({"state_dict": {}, "obj": PurePosixPath("x")}, unsafe)  # picklable, not allow-listed
    with pytest.raises(CheckpointError, match="unsafe.pth: .*Unsupported global"):
        load_checkpoint(unsafe)
    with pytest.raises(CheckpointError, match="bad.pth"):
        Parts().resume(bad, tmp_path)


def _set_mtime(path: Path, seconds: int) -> None:
    os.utime(path, (seconds, seconds))


def test_auto_resume_skips_a_truncated_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    parts = Parts()
    parts.train(range(2))
    good = parts.save(tmp_path / "epoch_1.pth", 2)
    newer = parts.save(tmp_path / "epoch_2.pth", 4)
    newer.write_bytes(newer.read_bytes()[: newer.stat().st_size // 2])  # killed mid-copy
    _set_mtime(good, 1_000), _set_mtime(newer, 2_000)
    (tmp_path / ".epoch_3.pth.abc.tmp").write_bytes(b"partial")  # an interrupted atomic save
    with caplog.at_level(logging.WARNING, logger="vidact.engine.checkpoint"):
        state = Parts(seed=3).resume("auto", tmp_path)
    assert state.path == good and state.iteration == 2
    assert "epoch_2.pth" in caplog.text


def test_auto_resume_without_checkpoints_starts_fresh(tmp_path: Path) -> None:
    assert Parts().resume("auto", tmp_path) is None
    assert Parts().resume("auto", tmp_path / "not_created") is None


def test_auto_resume_prefers_newest_and_ignores_best(tmp_path: Path) -> None:
    parts = Parts()
    old, new = parts.save(tmp_path / "epoch_1.pth", 2), parts.save(tmp_path / "epoch_2.pth", 4)
    _set_mtime(old, 1_000), _set_mtime(new, 2_000)
    for name in ("best.pth", "best_top1_acc_epoch_1.pth"):
        (tmp_path / name).write_bytes(old.read_bytes())
        _set_mtime(tmp_path / name, 3_000)
    assert Parts().resume("auto", tmp_path).path == new


def test_links_point_at_latest_and_best(tmp_path: Path) -> None:
    parts = Parts()
    first, second = parts.save(tmp_path / "epoch_1.pth", 2), parts.save(tmp_path / "epoch_2.pth", 4)
    update_links(tmp_path, first, best=True)
    update_links(tmp_path, second, best=False)
    assert (tmp_path / "latest.pth").resolve() == second.resolve()
    assert (tmp_path / "best.pth").resolve() == first.resolve()
    assert not os.path.isabs(os.readlink(tmp_path / "latest.pth"))  # relative: the work dir can move
    assert load_checkpoint(tmp_path / "latest.pth")["meta"]["iter"] == 4


def test_links_fall_back_to_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = Parts().save(tmp_path / "epoch_1.pth", 2)

    def no_symlinks(*args, **kwargs):
        raise OSError("symlinks not supported")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    update_links(tmp_path, path, best=True)
    for name in ("latest.pth", "best.pth"):
        link = tmp_path / name
        assert not link.is_symlink() and link.read_bytes() == path.read_bytes()


def test_prune_keeps_newest_and_link_targets(tmp_path: Path) -> None:
    parts = Parts()
    paths = [parts.save(tmp_path / f"epoch_{i}.pth", 2 * i) for i in range(1, 6)]
    for i, path in enumerate(paths):
        _set_mtime(path, 1_000 + i)
    update_links(tmp_path, paths[0], best=True)  # best is the oldest
    update_links(tmp_path, paths[-1], best=False)
    (tmp_path / "best_top1_acc_epoch_1.pth").write_bytes(b"kept")  # the eval hook's business
    (tmp_path / ".epoch_6.pth.x1y2.tmp").write_bytes(b"left by a killed save")
    removed = prune_checkpoints(tmp_path, keep_last=2)
    assert sorted(p.name for p in removed) == [".epoch_6.pth.x1y2.tmp", "epoch_2.pth", "epoch_3.pth"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.pth", "best_top1_acc_epoch_1.pth", "epoch_1.pth", "epoch_4.pth", "epoch_5.pth", "latest.pth"
    ]  # fmt: skip
    assert prune_checkpoints(tmp_path, keep_last=-1) == []


def test_compatible_recipes_pass() -> None:
    changed = {**RECIPE, "total_epochs": 10}
    changed["model"] = {**RECIPE["model"], "cls_head": {**RECIPE["model"]["cls_head"], "dropout_ratio": 0.8}}
    check_compatible(RECIPE, changed)  # training settings and dropout do not change the weights
    check_compatible(None, RECIPE)
    newer = {**RECIPE, "model": {**RECIPE["model"], "backbone": {**RECIPE["model"]["backbone"], "is_shift": True}}}
    check_compatible(RECIPE, newer)  # an option added in a later version, with its default


def test_incompatible_recipes_name_the_keys(tmp_path: Path) -> None:
    def with_model(**sections) -> dict:
        return {**RECIPE, "model": {**RECIPE["model"], **sections}}

    classes = with_model(cls_head={**RECIPE["model"]["cls_head"], "num_classes": 400})
    with pytest.raises(CheckpointError, match=r"classes: model\.cls_head\.num_classes: checkpoint 4, recipe 400$"):
        check_compatible(RECIPE, classes)
    arch = with_model(backbone={**RECIPE["model"]["backbone"], "depth": 50})
    with pytest.raises(CheckpointError, match=r"architecture: model\.backbone\.depth: checkpoint 18, recipe 50"):
        check_compatible(RECIPE, arch)
    head = with_model(cls_head={"type": "TSNHead", "num_classes": 4, "in_channels": 2048})
    with pytest.raises(CheckpointError, match=r"in_channels: checkpoint 512, recipe 2048; model\.cls_head\.type: "):
        check_compatible(RECIPE, head)

    parts = Parts()
    path = parts.save(tmp_path / "epoch_1.pth", 2, recipe=RECIPE)
    with pytest.raises(CheckpointError, match=r"epoch_1\.pth: .*num_classes"):
        parts.resume(path, tmp_path, recipe=classes)


def test_resume_with_amp_newly_enabled(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    parts = Parts()
    parts.scaler = torch.amp.GradScaler("cpu", enabled=False)
    path = parts.save(tmp_path / "epoch_1.pth", 2)
    resumed = Parts()
    with caplog.at_level(logging.WARNING, logger="vidact.engine.checkpoint"):
        resumed.resume(path, tmp_path)
    assert "no scaler state saved" in caplog.text and resumed.scaler.get_scale() == 1024.0


def test_model_mismatch_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "other.pth", model=nn.Linear(2, 2), epoch=0, iteration=0)
    with pytest.raises(CheckpointError, match="other.pth: model state does not fit"):
        Parts().resume(path, tmp_path)
