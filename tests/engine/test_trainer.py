"""Trainer loop, checkpoints, resume, SIGTERM and EvalHook on a tiny model and in-memory data."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from vidact.data.build import collate
from vidact.data.samplers import DistributedSampler
from vidact.data.seeded import ResumableSampler, SeededSamples
from vidact.engine.hooks import CheckpointHook, EvalHook, Hook, LoggerHook, infer_rule
from vidact.engine.checkpoint import find_latest_checkpoint
from vidact.engine.trainer import Trainer, load_checkpoint
from vidact.errors import CheckpointError


class TinyData(Dataset):
    """16 samples of (4, 3, 4, 4) 'frames'; the label is the sign of the mean of segment 0."""

    def __init__(self, n: int = 16) -> None:
        gen = torch.Generator().manual_seed(1)
        self.imgs = torch.randn(n, 4, 3, 4, 4, generator=gen)
        self.labels = (self.imgs[:, 0].mean(dim=(1, 2, 3)) > 0).long()
        self.metric_script: list[float] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"imgs": self.imgs[i], "label": self.labels[i : i + 1]}

    def evaluate(self, results: list, metrics=("top_k_accuracy",), topk=(1,)) -> dict:
        if self.metric_script is not None:
            return {"top1_acc": self.metric_script.pop(0)}
        pred = np.stack(results).argmax(1)
        return {"top1_acc": float((pred == self.labels.numpy()).mean())}


class TinyRecognizer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4 * 3 * 4 * 4, 2)
        self.drop = nn.Dropout(0.3)  # consumes RNG: resume must restore it

    def forward(self, imgs, label=None, return_loss=True):
        scores = self.fc(self.drop(imgs.flatten(1)) if return_loss else imgs.flatten(1))
        if not return_loss:
            return scores.softmax(1)
        loss = nn.functional.cross_entropy(scores, label.reshape(-1))
        return {"loss_cls": loss, "aux_loss": 0.1 * loss, "top1_acc": (scores.argmax(1) == label.reshape(-1)).float().mean()}


class HalvingLr:
    """Minimal schedule with the Trainer's interface: lr halves every 4 iterations."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer, self.base = optimizer, optimizer.param_groups[0]["lr"]

    def step(self, iteration: int) -> None:
        self.optimizer.param_groups[0]["lr"] = self.base * 0.5 ** (iteration // 4)

    def state_dict(self) -> dict:
        return {"base": self.base}

    def load_state_dict(self, state: dict) -> None:
        self.base = state["base"]


class Recorder(Hook):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def after_train_iter(self, trainer) -> None:
        self.losses.append(trainer.log_vars["loss"])


def make_trainer(work_dir: Path, max_epochs: int = 2, hooks=(), seed: int = 0, data: TinyData | None = None,
                 **kwargs) -> Trainer:
    torch.manual_seed(seed)
    data = data or TinyData()
    loader = kwargs.pop("loader", None) or DataLoader(data, batch_size=4, shuffle=True, collate_fn=collate,
                                                      generator=torch.Generator())
    model = TinyRecognizer()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return Trainer(model, optimizer, HalvingLr(optimizer), train_loader=loader, work_dir=work_dir,
                   max_epochs=max_epochs, device="cpu", hooks=list(hooks), seed=seed, **kwargs)


def test_one_epoch_finite_losses_and_atomic_checkpoint(tmp_path):
    rec = Recorder()
    trainer = make_trainer(tmp_path, max_epochs=1, hooks=[CheckpointHook(), rec, LoggerHook(interval=2)])
    trainer.fit()
    assert len(rec.losses) == 4 and all(np.isfinite(rec.losses))
    assert trainer.log_vars["loss"] == pytest.approx(1.1 * trainer.log_vars["loss_cls"])  # sum of *loss* keys
    assert (tmp_path / "epoch_1.pth").is_file()
    assert (tmp_path / "latest.pth").resolve() == (tmp_path / "epoch_1.pth").resolve()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
    state = load_checkpoint(tmp_path / "latest.pth")
    assert (state["meta"]["epoch"], state["meta"]["iter"]) == (1, 4)
    assert state["extra"]["seed"] == 0 and state["extra"]["epoch_iter"] == 0
    assert {"state_dict", "optimizer", "scheduler", "scaler", "rng", "recipe"} <= set(state)
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(lines) == 2 and '"samples_per_s"' in lines[0]


def test_same_seed_same_losses(tmp_path):
    runs = []
    for name in ("a", "b"):
        rec = Recorder()
        make_trainer(tmp_path / name, hooks=[rec]).fit()
        runs.append(rec.losses)
    assert runs[0] == runs[1]
    other = Recorder()
    make_trainer(tmp_path / "c", hooks=[other], seed=1).fit()
    assert other.losses != runs[0]


def test_resume_continues_with_identical_losses(tmp_path):
    full = Recorder()
    make_trainer(tmp_path / "full", max_epochs=3, hooks=[full]).fit()
    first = Recorder()
    make_trainer(tmp_path / "part", max_epochs=1, hooks=[CheckpointHook(), first]).fit()
    assert first.losses == full.losses[:4]
    rest = Recorder()
    resumed = make_trainer(tmp_path / "part", max_epochs=3, hooks=[CheckpointHook(), rest], seed=0)
    resumed.resume(find_latest_checkpoint(tmp_path / "part")[0])
    assert (resumed.epoch, resumed.iteration) == (1, 4)
    resumed.fit()
    np.testing.assert_allclose(rest.losses, full.losses[4:], rtol=1e-6)
    assert resumed.epoch == 3 and (tmp_path / "part" / "epoch_3.pth").is_file()


class CrashAt(Hook):
    """Raise after iteration `n`, like a process killed mid-epoch (later hooks never run)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def after_train_iter(self, trainer) -> None:
        if trainer.iteration == self.n:
            raise RuntimeError("simulated crash")


@pytest.mark.parametrize("resumable", [True, False], ids=["sampler-skips", "loader-replays"])
def test_mid_epoch_resume_repeats_the_uninterrupted_losses(tmp_path, resumable):
    def loader_for(data):
        if not resumable:
            return None
        sampler = ResumableSampler(DistributedSampler(data, num_replicas=1, rank=0, seed=0), seed=0)
        return DataLoader(SeededSamples(data), batch_size=4, sampler=sampler, collate_fn=collate)

    full = Recorder()
    data = TinyData()
    make_trainer(tmp_path / "full", max_epochs=3, hooks=[full], loader=loader_for(data)).fit()
    crashed = Recorder()
    with pytest.raises(RuntimeError, match="simulated crash"):
        make_trainer(tmp_path / "part", max_epochs=3, loader=loader_for(data),
                     hooks=[crashed, CheckpointHook(iter_interval=3), CrashAt(7)]).fit()
    assert crashed.losses == full.losses[:7]
    assert sorted(p.name for p in (tmp_path / "part").glob("*.pth")) == ["epoch_1.pth", "iter_6.pth", "latest.pth"]
    rest = Recorder()
    resumed = make_trainer(tmp_path / "part", max_epochs=3, hooks=[rest, CheckpointHook(iter_interval=3)],
                           loader=loader_for(data))
    assert resumed.resume("auto")
    assert (resumed.epoch, resumed.iteration) == (1, 6)
    resumed.fit()
    np.testing.assert_allclose(rest.losses, full.losses[6:], rtol=1e-6)
    assert not list((tmp_path / "part").glob("iter_*.pth"))  # superseded by epoch_3.pth


def test_time_interval_keeps_one_rolling_mid_epoch_checkpoint(tmp_path):
    hook = CheckpointHook(time_interval_min=1e-9)  # due after every iteration
    with pytest.raises(RuntimeError, match="simulated crash"):
        make_trainer(tmp_path, max_epochs=2, hooks=[hook, CrashAt(7)]).fit()
    # iterations 1-3 and 5-7 saved mid-epoch, each replacing the previous; epoch 1 cleared its own
    assert sorted(p.name for p in tmp_path.glob("*.pth")) == ["epoch_1.pth", "iter_7.pth", "latest.pth"]
    assert (tmp_path / "latest.pth").resolve().name == "iter_7.pth"
    assert load_checkpoint(tmp_path / "iter_7.pth")["extra"]["epoch_iter"] == 3


def test_resume_auto_without_checkpoint_starts_fresh(tmp_path):
    trainer = make_trainer(tmp_path)
    assert trainer.resume("auto") is False and (trainer.epoch, trainer.iteration) == (0, 0)


def test_eval_hook_best_score_survives_resume(tmp_path):
    data = TinyData()
    data.metric_script = [0.5, 0.4]
    val = DataLoader(data, batch_size=8, collate_fn=collate)
    make_trainer(tmp_path, max_epochs=1, hooks=[EvalHook(val), CheckpointHook()]).fit()
    hook = EvalHook(val)
    resumed = make_trainer(tmp_path, max_epochs=2, hooks=[hook, CheckpointHook()])
    resumed.resume("auto")
    assert hook.best_score == 0.5 and hook.best_ckpt.name == "best_top1_acc_epoch_1.pth"
    resumed.fit()  # 0.4 is worse: the best checkpoint stays epoch 1's
    assert (tmp_path / "best.pth").resolve().name == "best_top1_acc_epoch_1.pth"


def test_accumulate_steps_every_n_batches(tmp_path):
    trainer = make_trainer(tmp_path, max_epochs=1, accumulate=2)
    steps = []
    original = trainer.optimizer.step
    trainer.optimizer.step = lambda *a, **k: (steps.append(1), original(*a, **k))[1]
    trainer.fit()
    assert len(steps) == 2


@contextlib.contextmanager
def recorded_logs() -> Iterator[list[logging.LogRecord]]:
    """Every record of the `vidact` loggers, at every level, whether or not they propagate."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    logger = logging.getLogger("vidact")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_stop_signal_writes_checkpoint_then_resume(tmp_path, signame):
    signum = getattr(signal, signame)

    class Killer(Hook):
        def after_train_iter(self, trainer) -> None:
            if trainer.iteration == 6:
                os.kill(os.getpid(), signum)

    trainer = make_trainer(tmp_path, max_epochs=3, hooks=[CheckpointHook(), Killer()])
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    trainer.fit()
    assert {s: signal.getsignal(s) for s in before} == before
    assert trainer.stop_requested and trainer.stop_signal == signame and trainer.epoch == 1
    latest = find_latest_checkpoint(tmp_path)[0]
    assert latest.name.startswith("interrupted_") and load_checkpoint(latest)["meta"]["iter"] == 6
    resumed = make_trainer(tmp_path, max_epochs=3, hooks=[CheckpointHook()])
    with recorded_logs() as records:
        resumed.resume("auto")
    said = [r.getMessage() for r in records if r.levelno >= logging.INFO]
    assert len([m for m in said if "resumed from" in m]) == 1, said  # once, not once per layer
    assert any(f"resumed from {latest}" in m and "batch 2 of epoch 2" in m for m in said), said
    resumed.fit()
    assert resumed.epoch == 3 and not resumed.stop_requested
    assert resumed.iteration == 12  # continued at batch 3 of epoch 2, not from the epoch's start


def test_second_ctrl_c_aborts_at_once(tmp_path):
    class DoubleCtrlC(Hook):
        def after_train_iter(self, trainer) -> None:
            if trainer.iteration == 2:
                os.kill(os.getpid(), signal.SIGINT)  # first: finish the step, then checkpoint
                os.kill(os.getpid(), signal.SIGINT)  # second: no waiting for the checkpoint

    trainer = make_trainer(tmp_path, max_epochs=3, hooks=[DoubleCtrlC(), CheckpointHook()])
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert signal.getsignal(signal.SIGINT) == before
    assert trainer.iteration == 2 and not list(tmp_path.glob("*.pth"))


def test_corrupt_checkpoint_is_reported(tmp_path):
    bad = tmp_path / "epoch_1.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "missing.pth")


def test_evaluate_returns_dataset_order(tmp_path):
    data = TinyData()
    trainer = make_trainer(tmp_path, data=data)
    loader = DataLoader(data, batch_size=5, collate_fn=collate)
    results = trainer.evaluate(loader)
    assert len(results) == len(data)
    expected = trainer.bare_model(data.imgs, return_loss=False).detach().numpy()
    np.testing.assert_allclose(np.stack(results), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("key", "rule"), [("top1_acc", "greater"), ("mean_class_accuracy", "greater"),
                                          ("AR@100", "greater"), ("auc", "greater"), ("mAP", "greater"),
                                          ("val_loss", "less")])
def test_rule_inferred_from_key_indicator(key, rule):
    assert infer_rule(key) == rule
    assert EvalHook(None, key_indicator=key).rule == rule


def test_eval_hook_argument_checks():
    with pytest.raises(ValueError, match="cannot infer"):
        EvalHook(None, key_indicator="something")
    with pytest.raises(KeyError):
        EvalHook(None, rule="bigger")
    assert EvalHook(None, key_indicator="something", rule="less").rule == "less"


def test_eval_hook_saves_best_only_on_improvement(tmp_path):
    data = TinyData()
    data.metric_script = [0.5, 0.75, 0.6]
    loader = DataLoader(data, batch_size=4, collate_fn=collate)
    hook = EvalHook(loader, interval=1, save_best=True, key_indicator="top1_acc")
    trainer = make_trainer(tmp_path, max_epochs=3, hooks=[hook])
    trainer.fit()
    best = sorted(p.name for p in tmp_path.glob("best_*.pth"))
    assert best == ["best_top1_acc_epoch_2.pth"]
    assert (tmp_path / "best.pth").resolve().name == "best_top1_acc_epoch_2.pth"
    assert hook.best_score == 0.75 and trainer.metrics == {"top1_acc": 0.6}


def test_tensorboard_hook_writes_train_and_val_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from vidact.engine.hooks import TensorboardLoggerHook

    data = TinyData()
    val = DataLoader(data, batch_size=8, collate_fn=collate)
    make_trainer(tmp_path, max_epochs=2, hooks=[EvalHook(val), TensorboardLoggerHook(interval=2)]).fit()
    runs = list((tmp_path / "tf_logs").glob("events.out.tfevents.*"))
    assert len(runs) == 1
    events = EventAccumulator(str(runs[0].parent))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/loss_cls", "train/lr", "val/top1_acc"} <= tags
    assert [e.step for e in events.Scalars("train/loss")] == [2, 4, 6, 8]
    assert [e.step for e in events.Scalars("val/top1_acc")] == [4, 8]


class DtypeProbe(TinyRecognizer):
    """Records the dtype its linear layer computed in (autocast changes it)."""

    def forward(self, imgs, label=None, return_loss=True):
        self.seen = self.fc(imgs.flatten(1)).dtype
        return super().forward(imgs, label, return_loss)


def test_bf16_autocast_on_cpu_and_fp16_falls_back(tmp_path, caplog):
    for amp, expected in (({"enabled": True, "dtype": "bfloat16"}, torch.bfloat16),
                          ({"enabled": True, "dtype": "float16"}, torch.float32)):
        model = DtypeProbe()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loader = DataLoader(TinyData(), batch_size=4, collate_fn=collate)
        rec = Recorder()
        trainer = Trainer(model, optimizer, train_loader=loader, work_dir=tmp_path, max_epochs=1, device="cpu",
                          amp=amp, hooks=[rec])
        trainer.fit()
        assert model.seen == expected and all(np.isfinite(rec.losses))
        assert not trainer.scaler.is_enabled()  # the grad scaler is for float16 on CUDA only
    assert "float16 needs CUDA" in caplog.text
