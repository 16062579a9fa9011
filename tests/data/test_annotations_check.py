"""`check_annotations`: corrupt and missing videos, wrong frame counts, quarantine list and report."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidact.data.annotations.check import check_annotations
from vidact.data.synth_video import synth_recognition
from vidact.errors import AnnotationError


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    synth_recognition(root, num_videos_per_class=3, classes=("left", "right"), num_frames=8, size=(32, 32),
                      val_ratio=0.34, workers=1)
    return root


def write_frames(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        cv2.imwrite(str(folder / f"img_{i:05d}.jpg"), np.full((8, 8, 3), i, np.uint8))


def test_clean_video_list(synth: Path) -> None:
    report = check_annotations(synth / "train_list_videos.txt", data_prefix=synth)
    assert report.total == 4 and report.ok == 4 and report.problems == () and report.format == "video"


@pytest.mark.parametrize("workers", [1, 2])
def test_finds_corrupt_and_missing_videos(synth: Path, tmp_path: Path, workers: int) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    good = sorted((synth / "videos" / "left").glob("*.mp4"))[0]
    (videos / "good.mp4").write_bytes(good.read_bytes())
    (videos / "corrupt.mp4").write_bytes(b"\x00not a video" * 100)
    ann = tmp_path / "list.txt"
    ann.write_text("good.mp4 0\ncorrupt.mp4 1\n\ngone.mp4  1\n")
    report = check_annotations(ann, data_prefix=videos, workers=workers, quarantine=tmp_path / "bad.txt",
                               report=tmp_path / "report.json")
    assert [(p.line_no, p.line) for p in report.problems] == [(2, "corrupt.mp4 1"), (4, "gone.mp4  1")]
    assert report.problems[1].reason == "missing file"
    assert (tmp_path / "bad.txt").read_text() == "corrupt.mp4 1\ngone.mp4  1\n"
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["total"] == 3 and saved["ok"] == 1 and saved["bad"] == 2


def test_rawframe_counts(tmp_path: Path) -> None:
    write_frames(tmp_path / "a", 5)
    write_frames(tmp_path / "b", 4)
    write_frames(tmp_path / "c", 6)
    (tmp_path / "c" / "img_00006.jpg").write_bytes(b"broken jpeg")
    ann = tmp_path / "list.txt"
    ann.write_text("a 5 0\nb 5 1\nc 6 1\nmissing 3 0\n")
    report = check_annotations(ann, data_prefix=tmp_path, quarantine=tmp_path / "bad.txt")
    reasons = {p.line_no: p.reason for p in report.problems}
    assert set(reasons) == {2, 3, 4}
    assert "frame count 4 disagrees with the annotation (5)" in reasons[2]
    assert reasons[4] == "missing frame folder"
    assert report.format == "rawframe"
    with_offset = tmp_path / "offset.txt"
    with_offset.write_text("a 1 4 0\na 2 4 0\n")
    assert [p.line_no for p in check_annotations(with_offset, data_prefix=tmp_path).problems] == [2]


def test_multi_label_list_and_malformed_list(synth: Path, tmp_path: Path) -> None:
    ann = tmp_path / "multi.txt"
    ann.write_text("videos/left/left_0000.mp4 0 1\nvideos/right/right_0000.mp4 1\n")
    assert check_annotations(ann, data_prefix=synth).ok == 2
    ann.write_text("a.mp4 x\n")
    with pytest.raises(AnnotationError, match=r"multi.txt:1"):
        check_annotations(ann)
