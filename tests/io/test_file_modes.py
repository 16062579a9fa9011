"""Everything vidact writes atomically (temp + rename) ends with the mode a plain `open(..., "w")`
or `mkdir` gives under the caller's umask, not tempfile's private 0600 / 0700."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from vidact.data.extract import ExtractOptions
from vidact.data.extract.video import extract_video
from vidact.data.synth_video import synth_recognition
from vidact.engine.checkpoint import save_checkpoint
from vidact.engine.runs import write_scores
from vidact.io.files import atomic_write, atomic_write_bytes, atomic_write_text, current_umask, make_temp_dir

UMASKS = [0o022, 0o077, 0o002]


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def plain_file_mode(folder: Path) -> int:
    """The mode `open(..., "w")` gives a new file in `folder` under the current umask."""
    probe = folder / "plain-probe.txt"
    with open(probe, "w") as fh:
        fh.write("x")
    try:
        return mode(probe)
    finally:
        probe.unlink()


def plain_dir_mode(folder: Path) -> int:
    probe = folder / "plain-probe-dir"
    probe.mkdir()
    try:
        return mode(probe)
    finally:
        probe.rmdir()


@pytest.mark.parametrize("mask", UMASKS)
def test_current_umask_reads_without_changing(mask):
    with umask(mask):
        assert current_umask() == mask
        assert current_umask() == mask


@pytest.mark.parametrize("mask", UMASKS)
def test_atomic_writes_get_the_plain_open_mode(tmp_path, mask):
    with umask(mask):
        expected = plain_file_mode(tmp_path)
        atomic_write_text(tmp_path / "a.txt", "text")
        atomic_write_bytes(tmp_path / "b.bin", b"bytes")
        with atomic_write(tmp_path / "sub" / "c.json", "w", encoding="utf-8") as fh:
            fh.write("{}")
        expected_dir = plain_dir_mode(tmp_path)
    assert expected == 0o666 & ~mask
    for name in ("a.txt", "b.bin", "sub/c.json"):
        assert mode(tmp_path / name) == expected, name
    assert mode(tmp_path / "sub") == expected_dir  # the parent made on the way, as mkdir makes it


def test_atomic_write_keeps_an_existing_files_mode(tmp_path):
    # like open(path, "w") on an existing file: the content changes, the mode stays
    target = tmp_path / "scores.json"
    target.write_text("old")
    target.chmod(0o640)
    with umask(0o022):
        atomic_write_text(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o640


@pytest.mark.parametrize("mask", UMASKS)
def test_temp_dir_gets_the_plain_mkdir_mode(tmp_path, mask):
    with umask(mask):
        folder = make_temp_dir(tmp_path / "video_1")
        expected = plain_dir_mode(tmp_path)
    assert folder.parent == tmp_path and folder.name.startswith(".video_1.partial-")
    assert mode(folder) == expected == 0o777 & ~mask


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_frames_checkpoints_scores_and_synthetic_videos(tmp_path, mask):
    with umask(mask):
        file_mode, dir_mode = plain_file_mode(tmp_path), plain_dir_mode(tmp_path)
        data = synth_recognition(tmp_path / "synth", num_videos_per_class=1, classes=("left", "right"),
                                 num_frames=8, size=(32, 32))
        videos = sorted((tmp_path / "synth").rglob("*.mp4"))
        result = extract_video(videos[0], tmp_path / "frames" / "v0", ExtractOptions())
        save_checkpoint(tmp_path / "work" / "epoch_1.pth", model=nn.Linear(2, 2), epoch=1, iteration=1)
        write_scores(tmp_path / "s.npy", np.zeros((2, 3), np.float32), {"num_clips": 1})
    assert data is not None and result.status == "extracted", result
    frames = tmp_path / "frames" / "v0"
    assert mode(frames) == dir_mode
    written = [*frames.iterdir(), *videos, *(tmp_path / "synth").glob("*.txt"), tmp_path / "work" / "epoch_1.pth",
               tmp_path / "s.npy", tmp_path / "s.npy.protocol.json"]
    assert len(written) > 8
    for path in written:
        assert mode(path) == file_mode, path
    assert torch.load(tmp_path / "work" / "epoch_1.pth", weights_only=True)["meta"]["epoch"] == 1
