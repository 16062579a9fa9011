"""Progress a person can read: the training line at 80/120 columns, the ETA, per-step times and the
final line of a bar when stderr is not a terminal."""

from __future__ import annotations

import io
import json
import logging
import time
from types import SimpleNamespace

import pytest
from rich.console import Console

from vidact.engine import logging as progress
from vidact.engine.hooks import LoggerHook
from vidact.engine.logging import (
    ProgressReporter,
    TrainingStatus,
    _TrainingLine,
    eta_seconds,
    layout_training_line,
)
from vidact.io.progress import format_seconds, track

STATUS = TrainingStatus(iteration=470, total_iters=1410, epoch=5, max_epochs=15, eta_s=252.0, loss=0.41234,
                        lr=0.00123, data_s=0.0212, compute_s=0.4987, samples_per_s=16.04)


def _render(renderable, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def test_80_columns_keep_bar_iteration_eta_and_loss():
    lines = _render(_TrainingLine(STATUS), 80).splitlines()
    assert len(lines) == 1 and len(lines[0]) <= 80
    line = lines[0]
    assert line.startswith("━")
    assert "470/1410" in line and "eta 4m12s" in line and "loss 0.4123" in line
    assert "epoch 5/15" in line and "lr 0.00123" in line
    assert "samples/s" not in line  # the lowest-priority field waits for a wider terminal
    bar = line.split(" ")[0]
    assert len(bar) >= 15


def test_120_columns_show_everything_with_per_step_labels():
    line = _render(_TrainingLine(STATUS), 120).splitlines()
    assert len(line) == 1 and len(line[0]) <= 120
    for field in ("470/1410", "eta 4m12s", "loss 0.4123", "epoch 5/15", "lr 0.00123", "data 0.02s/step",
                  "compute 0.50s/step", "16.0 samples/s"):
        assert field in line[0], field


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 200])
def test_the_line_never_wraps(width):
    lines = _render(_TrainingLine(STATUS), width).splitlines()
    assert len(lines) == 1 and len(lines[0]) <= width


def test_bar_fill_follows_the_iteration():
    text = layout_training_line(TrainingStatus(iteration=50, total_iters=100), 80)
    bar = text.plain.split(" ")[0]
    complete = sum(len(span_text) for span_text, style in _spans(text) if style == "bar.complete")
    assert complete == round(len(bar) / 2)


def _spans(text):
    return [(text.plain[s.start:s.end], s.style) for s in text.spans]


def test_eta_from_measured_step_time():
    assert eta_seconds(0.5, 100) == 50.0
    assert eta_seconds(None, 100) is None
    assert eta_seconds(2.0, -3) == 0


def test_reporter_eta_uses_the_time_per_iteration_after_the_first_step(monkeypatch):
    clock = iter([100.0, 130.0, 132.0, 134.0])  # start, then the end of steps 1, 2 and 3
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    reporter = ProgressReporter(total_iters=10)
    reporter.tick(1, 1)  # the slow first step (workers starting) is not measured
    assert reporter.status.eta_s is None
    reporter.tick(2, 1)
    assert reporter.status.eta_s == pytest.approx(2.0 * 8)
    reporter.tick(3, 1)
    assert reporter.status.eta_s == pytest.approx(2.0 * 7)


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (0.2, "1s"), (59, "59s"), (65, "1m05s"),
                                               (3600 * 2 + 7 * 60, "2h07m")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_non_tty_bar_ends_with_the_real_elapsed_time(monkeypatch):
    console = Console(file=io.StringIO(), width=100, force_terminal=False)
    monkeypatch.setattr("vidact.io.console.err", console)
    for _ in track(range(3), "testing", unit="videos"):
        time.sleep(0.4)
    out = console.file.getvalue()
    assert out.count("\n") == 1, out  # one final line, not a refresh per item
    assert "testing" in out and "3/3" in out and "videos" in out
    assert "in 2s" in out and "0:00:00" not in out


def test_track_without_len_counts_what_came(monkeypatch):
    console = Console(file=io.StringIO(), width=100, force_terminal=False)
    monkeypatch.setattr("vidact.io.console.err", console)
    assert list(track((i for i in range(4)), "predicting")) == [0, 1, 2, 3]
    assert "4/4" in console.file.getvalue()


def test_logger_hook_records_seconds_per_step_not_their_sum(tmp_path, monkeypatch, caplog):
    clock = iter(float(t) for t in range(0, 1000, 1))  # every perf_counter call advances 1 s
    fake_time = SimpleNamespace(perf_counter=lambda: next(clock), monotonic=time.monotonic)
    monkeypatch.setattr("vidact.engine.hooks.time", fake_time)  # the hook's clock only, not the reporter's
    trainer = SimpleNamespace(is_main=True, work_dir=tmp_path, max_epochs=1, train_loader=[0] * 4, iteration=0,
                              epoch=0, inner_iter=0, log_vars={"loss": 1.0}, current_lr=lambda: 0.1)
    hook = LoggerHook(interval=2)
    hook.before_run(trainer)
    hook.before_train_epoch(trainer)
    with caplog.at_level(logging.INFO, logger="vidact.train"):
        for i in range(4):
            trainer.inner_iter = i
            hook.before_train_iter(trainer)
            trainer.iteration = i + 1
            hook.after_train_iter(trainer)
        hook.after_run(trainer)
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in records] == [2, 4]
    # each step: 1 s waiting for data, 1 s computing (one clock tick each), whatever the interval
    assert all(r["data_time"] == pytest.approx(1.0) and r["time"] == pytest.approx(1.0) for r in records)
    assert "data 1.00s/step compute 1.00s/step" in caplog.text
    assert "trained 4 iterations in" in caplog.text


@pytest.mark.parametrize("terminal", [True, False])
def test_a_transient_bar_shows_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch, terminal: bool):
    from rich.progress import BarColumn, TextColumn

    from vidact.io import console
    from vidact.io.progress import transient_progress

    buffer = io.StringIO()
    monkeypatch.setattr(console, "err", Console(file=buffer, force_terminal=terminal, width=80))
    with transient_progress(TextColumn("{task.description}"), BarColumn()) as bar:
        task = bar.add_task("working", total=3)
        bar.update(task, completed=3)
    print("after", file=console.err.file)
    if terminal:
        assert "working" in buffer.getvalue()
    else:
        assert buffer.getvalue() == "after\n"  # not even the empty line a finished transient bar leaves
