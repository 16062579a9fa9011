"""`build_annotations`: folder scans, rawframe counts, stratified and official splits, label files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vidact.data.annotations.build import build_annotations, read_official_split, stratified_split
from vidact.data.annotations.lists import read_label_list
from vidact.errors import AnnotationError, InputError


def touch_videos(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")  # scanning needs names only


def write_frames(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    img = np.zeros((8, 8, 3), np.uint8)
    for i in range(1, count + 1):
        cv2.imwrite(str(folder / f"img_{i:05d}.jpg"), img)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_class_folders_videos_stratified_split(tmp_path: Path) -> None:
    src = tmp_path / "videos"
    touch_videos(src, [f"{c}/{c}_{i}.mp4" for c in ("run", "jump") for i in range(5)])
    result = build_annotations(src, tmp_path / "ann", split_ratio=0.2, seed=0)
    assert result.classes == ("jump", "run")
    assert lines(result.files["classes"]) == ["jump", "run"]
    train, val = read_label_list(result.files["train_list"]), read_label_list(result.files["val_list"])
    assert train.format == "video" and len(train) == 8 and len(val) == 2
    assert sorted(val.labels.tolist()) == [0, 1]  # one per class
    for path, label in zip(val.paths, val.labels.tolist()):
        assert path.startswith(("jump/", "run/")[label])
    again = build_annotations(src, tmp_path / "ann2", split_ratio=0.2, seed=0)
    assert again.files["val_list"].read_text() == result.files["val_list"].read_text()
    assert result.counts == {"samples": 10, "train": 8, "val": 2, "classes": 2, "unlisted": 0, "missing": 0}


def test_stratified_split_per_class_counts() -> None:
    labels = np.repeat([0, 1, 2], [10, 4, 1])
    val = stratified_split(labels, 0.3, seed=1)
    assert [int(val[labels == k].sum()) for k in range(3)] == [3, 1, 0]
    assert not stratified_split(labels, 0.0, seed=1).any()
    assert (stratified_split(labels, 0.3, seed=1) == val).all()


def test_rawframes_counts_files_and_manifest(tmp_path: Path) -> None:
    src = tmp_path / "frames"
    write_frames(src / "a" / "a_0", 5)
    write_frames(src / "a" / "a_1", 3)
    write_frames(src / "b" / "b_0", 4)
    write_frames(src / "b" / "b_1", 2)
    (src / "b" / "b_1" / "manifest.json").write_text('{"frames": {"count": 7}}')
    result = build_annotations(src, tmp_path / "ann", format="rawframes", split_ratio=0.0, with_offset=True)
    assert lines(result.files["train_list"]) == ["a/a_0 0 5 0", "a/a_1 0 3 0", "b/b_0 0 4 1", "b/b_1 0 7 1"]
    assert result.files["val_list"].read_text() == ""
    parsed = read_label_list(result.files["train_list"])
    assert parsed.with_offset and parsed.total_frames.tolist() == [5, 3, 4, 7]


def test_ucf101_official_split(tmp_path: Path) -> None:
    src = tmp_path / "videos"
    touch_videos(src, ["Archery/v_Archery_g01_c01.avi", "Archery/v_Archery_g08_c01.avi",
                       "Bowling/v_Bowling_g01_c01.avi", "Bowling/v_Bowling_g08_c01.avi",
                       "Bowling/v_Bowling_g09_c01.avi"])
    splits = tmp_path / "ucfTrainTestlist"
    splits.mkdir()
    (splits / "classInd.txt").write_text("1 Archery\n2 Bowling\n")
    (splits / "trainlist01.txt").write_text("Archery/v_Archery_g08_c01.avi 1\nBowling/v_Bowling_g08_c01.avi 2\n"
                                            "Bowling/v_Bowling_g10_c01.avi 2\n")
    (splits / "testlist01.txt").write_text("Archery/v_Archery_g01_c01.avi\nBowling/v_Bowling_g01_c01.avi\n")
    result = build_annotations(src, tmp_path / "ann", split_file=splits, split_kind="ucf101")
    assert lines(result.files["train_list"]) == ["Archery/v_Archery_g08_c01.avi 0", "Bowling/v_Bowling_g08_c01.avi 1"]
    assert lines(result.files["val_list"]) == ["Archery/v_Archery_g01_c01.avi 0", "Bowling/v_Bowling_g01_c01.avi 1"]
    assert result.counts["unlisted"] == 1 and result.counts["missing"] == 1


def test_hmdb51_official_split(tmp_path: Path) -> None:
    src = tmp_path / "videos"
    touch_videos(src, ["brush_hair/a.avi", "brush_hair/b.avi", "brush_hair/c.avi", "cartwheel/d.avi"])
    splits = tmp_path / "splits"
    splits.mkdir()
    (splits / "brush_hair_test_split1.txt").write_text("a.avi 1 \nb.avi 2 \nc.avi 0 \n")
    (splits / "cartwheel_test_split1.txt").write_text("d.avi 1 \n")
    result = build_annotations(src, tmp_path / "ann", split_file=splits, split_kind="hmdb51")
    assert lines(result.files["train_list"]) == ["brush_hair/a.avi 0", "cartwheel/d.avi 1"]
    assert lines(result.files["val_list"]) == ["brush_hair/b.avi 0"]


def test_kinetics_csv_flat_layout(tmp_path: Path) -> None:
    src = tmp_path / "videos"
    touch_videos(src, ["abc_def_000010_000020.mp4", "xyz_000003_000013.mp4", "qqq_000000_000010.mp4"])
    csv = tmp_path / "k.csv"
    csv.write_text("label,youtube_id,time_start,time_end,split\n"
                   "riding a bike,abc_def,10,20,train\nabseiling,xyz,3,13,val\n,qqq,0,10,test\n")
    result = build_annotations(src, tmp_path / "ann", split_file=csv, split_kind="kinetics")
    assert result.classes == ("abseiling", "riding a bike")
    assert lines(result.files["train_list"]) == ["abc_def_000010_000020.mp4 1"]
    assert lines(result.files["val_list"]) == ["xyz_000003_000013.mp4 0"]


def test_label_file_multi_label(tmp_path: Path) -> None:
    src = tmp_path / "videos"
    touch_videos(src, ["a.mp4", "b.mp4", "c.mp4"])
    labels = tmp_path / "labels.txt"
    labels.write_text("a.mp4 cat dog\nb cat\nc dog\n")
    result = build_annotations(src, tmp_path / "ann", label_file=labels, multi_label=True, split_ratio=0.0)
    assert lines(result.files["train_list"]) == ["a.mp4 0 1", "b.mp4 0", "c.mp4 1"]
    parsed = read_label_list(result.files["train_list"], multi_class=True, num_classes=2)
    assert parsed.labels.tolist() == [[1, 1], [1, 0], [0, 1]]
    with pytest.raises(AnnotationError, match=r"labels.txt:1: .*--multi-label"):
        build_annotations(src, tmp_path / "ann", label_file=labels)


def test_errors_name_the_problem(tmp_path: Path) -> None:
    src = tmp_path / "videos"
    touch_videos(src, ["flat.mp4"])
    with pytest.raises(InputError, match="flat.mp4: not in a class subfolder"):
        build_annotations(src, tmp_path / "ann")
    with pytest.raises(InputError, match="no frame folders"):
        build_annotations(src, tmp_path / "ann", format="rawframes")
    with pytest.raises(InputError, match="give --label-file"):
        build_annotations(src, tmp_path / "ann", multi_label=True)
    with pytest.raises(InputError, match="go together"):
        build_annotations(src, tmp_path / "ann", split_kind="ucf101")
    splits = tmp_path / "s"
    splits.mkdir()
    (splits / "classInd.txt").write_text("one Archery\n")
    with pytest.raises(AnnotationError, match=r"classInd.txt:1: expected 'index class'"):
        read_official_split(splits, "ucf101")
