"""Hooks: optional work the Trainer runs at a few events (run, epoch, step), after the step.

`EvalHook`/`DistEvalHook` keep the reference's names and semantics (interval, save_best,
key_indicator, rule inferred from the metric name); `CheckpointHook` writes atomic checkpoints
with `latest`/`best` links; `LoggerHook` reports progress and writes the JSON-lines log.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from vidact.arguments import check_int
from vidact.engine.checkpoint import replace_link
from vidact.engine.logging import ProgressReporter

log = logging.getLogger(__name__)

_GREATER_KEYS = ("acc", "top", "AR@", "auc", "precision", "mAP")
_LESS_KEYS = ("loss",)


class Hook:
    """Base class: every event is a no-op. Hooks receive the trainer and must not run the loop."""

    def before_run(self, trainer: Any) -> None: ...
    def after_run(self, trainer: Any) -> None: ...
    def before_train_epoch(self, trainer: Any) -> None: ...
    def after_train_epoch(self, trainer: Any) -> None: ...
    def before_train_iter(self, trainer: Any) -> None: ...
    def after_train_iter(self, trainer: Any) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """What this hook needs to continue after a resume (saved in every checkpoint)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def infer_rule(key_indicator: str) -> str:
    """'greater' for accuracy-like metrics (acc, top, AR@, auc, precision, mAP), 'less' for losses.

    Raises:
        ValueError: the name matches neither; pass `rule` explicitly.
    """
    if any(key in key_indicator for key in _LESS_KEYS):
        return "less"
    if any(key in key_indicator for key in _GREATER_KEYS):
        return "greater"
    raise ValueError(f"cannot infer the rule for key_indicator '{key_indicator}'; pass rule='greater' or 'less'")


class EvalHook(Hook):
    """Evaluate on `dataloader` every `interval` epochs and keep the best checkpoint.

    Args:
        dataloader: the validation loader (its dataset's `evaluate` computes the metrics).
        interval: epochs between evaluations.
        gpu_collect: gather results through GPU tensors (DistEvalHook); results are always
            returned in dataset order.
        save_best: write `best_{key}_epoch_{n}.pth` (and the `best.pth` link) when `key_indicator`
            improves; 'auto' uses the first metric the dataset's `evaluate` returns instead.
        key_indicator: the metric that decides the best checkpoint.
        rule: 'greater' or 'less'; None infers it from `key_indicator`.
        **eval_kwargs: passed to `dataset.evaluate` (`metrics`, `topk`, ...).
    """

    def __init__(self, dataloader: Any, interval: int = 1, gpu_collect: bool = False, save_best: bool = True,
                 key_indicator: str | None = "top1_acc", rule: str | None = None, **eval_kwargs: Any) -> None:
        interval = check_int(interval, "interval", minimum=1)
        if rule is not None and rule not in ("greater", "less"):
            raise KeyError(f"rule must be 'greater', 'less' or None, got {rule!r}")
        if save_best == "auto":
            key_indicator = None  # the first metric of the first evaluation
        elif save_best and key_indicator is None:
            raise ValueError("save_best needs a key_indicator")
        self.dataloader, self.interval, self.gpu_collect = dataloader, interval, gpu_collect
        self.save_best, self.key_indicator = save_best, key_indicator
        self.rule = rule if rule is not None or not save_best or key_indicator is None else infer_rule(key_indicator)
        self.eval_kwargs = eval_kwargs
        self.best_score: float | None = None
        self.best_ckpt: Path | None = None

    def after_train_epoch(self, trainer: Any) -> None:
        if trainer.epoch % self.interval:
            return
        results = trainer.evaluate(self.dataloader, gpu_collect=self.gpu_collect)
        if not trainer.is_main:
            return
        metrics = self.dataloader.dataset.evaluate(results, **self.eval_kwargs)
        trainer.metrics = {k: float(v) for k, v in metrics.items() if _is_number(v)}
        trainer.metrics_epoch = trainer.epoch
        if self.save_best:
            self._keep_best(trainer, trainer.metrics)

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "best_ckpt": str(self.best_ckpt) if self.best_ckpt else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_score = state.get("best_score")
        self.best_ckpt = Path(state["best_ckpt"]) if state.get("best_ckpt") else None

    def _keep_best(self, trainer: Any, metrics: dict[str, float]) -> None:
        if self.key_indicator is None and metrics:  # save_best: auto
            self.key_indicator = next(iter(metrics))
            self.rule = self.rule or infer_rule(self.key_indicator)
        if self.key_indicator not in metrics:
            raise KeyError(f"key_indicator '{self.key_indicator}' is not among the metrics: {', '.join(metrics)}")
        score = metrics[self.key_indicator]
        better = self.best_score is None or (score > self.best_score if self.rule == "greater" else score < self.best_score)
        if not better:
            return
        self.best_score = score
        if self.best_ckpt is not None:
            self.best_ckpt.unlink(missing_ok=True)
        self.best_ckpt = trainer.save_checkpoint(
            trainer.work_dir / f"best_{self.key_indicator}_epoch_{trainer.epoch}.pth")
        replace_link(trainer.work_dir / "best.pth", self.best_ckpt)
        log.info("best %s so far: %.4f (epoch %d)", self.key_indicator, score, trainer.epoch)


class DistEvalHook(EvalHook):
    """EvalHook for distributed runs: every rank scores its shard, rank 0 computes the metrics.

    Args:
        broadcast_bn_buffer: copy rank 0's BatchNorm running statistics to every rank before
            evaluating (DDP training leaves them different), so every shard is scored by the
            model rank 0 saves.
    """

    def __init__(self, dataloader: Any, *args: Any, broadcast_bn_buffer: bool = True, **kwargs: Any) -> None:
        super().__init__(dataloader, *args, **kwargs)
        self.broadcast_bn_buffer = broadcast_bn_buffer

    def after_train_epoch(self, trainer: Any) -> None:
        if self.broadcast_bn_buffer and trainer.epoch % self.interval == 0:
            from vidact.engine.distributed import broadcast_bn_buffers

            broadcast_bn_buffers(trainer.bare_model)
        super().after_train_epoch(trainer)


class CheckpointHook(Hook):
    """Save `epoch_{n}.pth` every `interval` epochs, link `latest.pth`, keep the newest `max_keep_ckpts`.

    Within an epoch, a rolling `iter_{n}.pth` is written every `iter_interval` iterations and/or
    every `time_interval_min` minutes (0 turns either off); only the newest is kept, and it goes
    once the epoch's checkpoint exists. `--resume auto` continues from whichever is newest, at
    the saved batch. On SIGTERM the trainer stops after the current step and this hook saves
    before the process exits.
    """

    def __init__(self, interval: int = 1, max_keep_ckpts: int = -1, save_optimizer: bool = True,
                 iter_interval: int = 0, time_interval_min: float = 0.0) -> None:
        self.interval, self.max_keep_ckpts, self.save_optimizer = interval, max_keep_ckpts, save_optimizer
        self.iter_interval, self.time_interval_s = iter_interval, time_interval_min * 60.0
        self._last_save = time.monotonic()
        self._mid_epoch: Path | None = None

    def before_run(self, trainer: Any) -> None:
        self._last_save = time.monotonic()

    def after_train_iter(self, trainer: Any) -> None:
        if not trainer.is_main or trainer.epoch_iter >= len(trainer.train_loader):
            return  # the epoch's end saves anyway
        by_iter = self.iter_interval > 0 and trainer.iteration % self.iter_interval == 0
        by_time = self.time_interval_s > 0 and time.monotonic() - self._last_save >= self.time_interval_s
        if by_iter or by_time:
            previous, self._mid_epoch = self._mid_epoch, self._save(trainer, f"iter_{trainer.iteration}.pth")
            if previous is not None and previous != self._mid_epoch:
                previous.unlink(missing_ok=True)

    def after_train_epoch(self, trainer: Any) -> None:
        if trainer.is_main and (trainer.epoch % self.interval == 0 or trainer.epoch == trainer.max_epochs):
            self._save(trainer, f"epoch_{trainer.epoch}.pth")
            self._prune(trainer.work_dir)
            for stale in trainer.work_dir.glob("iter_*.pth"):
                stale.unlink(missing_ok=True)
            self._mid_epoch = None

    def after_run(self, trainer: Any) -> None:
        if trainer.stop_requested and trainer.is_main:
            path = self._save(trainer, f"interrupted_epoch_{trainer.epoch + 1}_iter_{trainer.iteration}.pth")
            log.warning("interrupted: wrote %s; continue with --resume auto", path)

    def _save(self, trainer: Any, name: str) -> Path:
        path = trainer.save_checkpoint(trainer.work_dir / name, self.save_optimizer)
        replace_link(trainer.work_dir / "latest.pth", path)
        self._last_save = time.monotonic()
        return path

    def _prune(self, work_dir: Path) -> None:
        if self.max_keep_ckpts <= 0:
            return
        epochs = sorted(work_dir.glob("epoch_*.pth"), key=lambda p: int(p.stem.split("_")[1]))
        for old in epochs[: -self.max_keep_ckpts]:
            old.unlink(missing_ok=True)


class LoggerHook(Hook):
    """Every `interval` steps: epoch, iteration, losses, lr, data vs compute time, samples/s, ETA.

    Warns when more than half of a step's time is spent waiting for data. At epoch end, logs the
    dataset's decode-failure report and the validation metrics. Writes `log.jsonl` in the work dir.
    """

    def __init__(self, interval: int = 20, json_log: bool = True) -> None:
        self.interval, self.json_log = interval, json_log
        self.reporter: ProgressReporter | None = None
        self._t_last = self._t_data = 0.0
        self._data_time = self._step_time = 0.0
        self._samples = 0
        self._run_start = 0.0
        self._iters_at_start = 0

    def before_run(self, trainer: Any) -> None:
        if trainer.is_main:
            jsonl = trainer.work_dir / "log.jsonl" if self.json_log else None
            total = trainer.max_epochs * len(trainer.train_loader)
            self.reporter = ProgressReporter(total_iters=total, done_iters=trainer.iteration, jsonl_path=jsonl)
        self._run_start, self._iters_at_start = time.perf_counter(), trainer.iteration

    def before_train_epoch(self, trainer: Any) -> None:
        self._t_last = time.perf_counter()

    def before_train_iter(self, trainer: Any) -> None:
        now = time.perf_counter()
        self._data_time += now - self._t_last
        self._t_data = now

    def after_train_iter(self, trainer: Any) -> None:
        now = time.perf_counter()
        self._step_time += now - self._t_data
        self._t_last = now
        self._samples += _batch_size(trainer)
        if self.reporter is None:
            return
        last = trainer.inner_iter + 1 == len(trainer.train_loader)
        if (trainer.inner_iter + 1) % self.interval and not last:
            return
        elapsed = now - self._run_start
        done = trainer.iteration - self._iters_at_start
        remaining = trainer.max_epochs * len(trainer.train_loader) - trainer.iteration
        wall = self._data_time + self._step_time
        record = {
            "mode": "train", "epoch": trainer.epoch + 1, "iter": trainer.inner_iter + 1,
            "iters_per_epoch": len(trainer.train_loader), "lr": trainer.current_lr(), **trainer.log_vars,
            "data_time": self._data_time, "time": self._step_time,
            "samples_per_s": self._samples / wall if wall else 0.0,
            "eta_s": elapsed / done * remaining if done else None,
        }
        if wall and self._data_time > 0.5 * wall:
            record["warning"] = f"waiting on data {self._data_time / wall:.0%} of the time; raise workers_per_gpu"
        self.reporter.update(trainer.iteration, record)
        self._data_time = self._step_time = 0.0
        self._samples = 0

    def after_train_epoch(self, trainer: Any) -> None:
        failures = _failure_report(trainer.train_loader)
        if failures:
            log.warning("epoch %d: %d samples failed to decode and were substituted, e.g. %s",
                        trainer.epoch, len(failures), failures[0])
        if self.reporter is not None and trainer.metrics_epoch == trainer.epoch:
            self.reporter.update(trainer.iteration, {"mode": "val", "epoch": trainer.epoch, **trainer.metrics})

    def after_run(self, trainer: Any) -> None:
        if self.reporter is not None:
            self.reporter.close()


class TensorboardLoggerHook(Hook):
    """Write the training losses, lr and validation metrics as TensorBoard scalars.

    Needs the optional `tensorboard` package (`pip install 'vidact[tensorboard]'`); without it the
    hook warns once and does nothing. Scalars go to `log_dir` (default `work_dir/tf_logs`), tagged
    `train/<name>` every `interval` iterations and `val/<metric>` after each evaluation, with the
    global iteration as step.
    """

    def __init__(self, interval: int = 20, log_dir: str | None = None) -> None:
        self.interval, self.log_dir = interval, log_dir
        self.writer: Any = None

    @staticmethod
    def available() -> bool:
        import importlib.util

        return importlib.util.find_spec("tensorboard") is not None

    def before_run(self, trainer: Any) -> None:
        if not trainer.is_main:
            return
        if not self.available():
            log.warning("TensorboardLoggerHook: tensorboard is not installed (pip install 'vidact[tensorboard]'); "
                        "no TensorBoard logs")
            return
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(Path(self.log_dir) if self.log_dir else trainer.work_dir / "tf_logs"))

    def after_train_iter(self, trainer: Any) -> None:
        if self.writer is None or trainer.iteration % self.interval:
            return
        for name, value in trainer.log_vars.items():
            self.writer.add_scalar(f"train/{name}", value, trainer.iteration)
        self.writer.add_scalar("train/lr", trainer.current_lr(), trainer.iteration)

    def after_train_epoch(self, trainer: Any) -> None:
        if self.writer is None:
            return
        if trainer.metrics_epoch == trainer.epoch:
            for name, value in trainer.metrics.items():
                self.writer.add_scalar(f"val/{name}", value, trainer.iteration)
        self.writer.flush()

    def after_run(self, trainer: Any) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _batch_size(trainer: Any) -> int:
    return int(getattr(trainer.train_loader, "batch_size", None) or 1)


def _failure_report(loader: Any) -> list:
    report = getattr(getattr(loader, "dataset", None), "failure_report", None)
    return list(report()) if callable(report) else []


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
