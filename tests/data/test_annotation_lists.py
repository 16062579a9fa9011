"""Video and rawframe list readers: formats, detection, multi-label, line-numbered errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from vidact.data.annotations import read_label_list
from vidact.errors import AnnotationError, InputError


def _write(tmp_path, text, name="ann.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_video_list(tmp_path):
    path = _write(tmp_path, "some/path/000.mp4 1\nsome/path/001.mp4 2\n")
    ann = read_label_list(path)
    assert ann.format == "video" and not ann.with_offset and len(ann) == 2
    np.testing.assert_array_equal(ann.labels, [1, 2])
    assert ann.paths == ("some/path/000.mp4", "some/path/001.mp4")
    assert ann.total_frames is None and ann.offsets is None
    assert ann.to_records() == [
        {"filename": "some/path/000.mp4", "label": 1},
        {"filename": "some/path/001.mp4", "label": 2},
    ]


def test_rawframe_list(tmp_path):
    ann = read_label_list(_write(tmp_path, "some/directory-1 163 1\nsome/directory-2 122 3\n"))
    assert ann.format == "rawframe" and not ann.with_offset
    np.testing.assert_array_equal(ann.labels, [1, 3])
    np.testing.assert_array_equal(ann.total_frames, [163, 122])
    assert ann.to_records()[0] == {"frame_dir": "some/directory-1", "total_frames": 163, "label": 1}


def test_rawframe_list_with_offset_is_detected(tmp_path):
    ann = read_label_list(_write(tmp_path, "some/directory-1 12 163 3\nsome/directory-2 213 122 4\n"))
    assert ann.format == "rawframe" and ann.with_offset
    np.testing.assert_array_equal(ann.offsets, [12, 213])
    np.testing.assert_array_equal(ann.total_frames, [163, 122])
    np.testing.assert_array_equal(ann.labels, [3, 4])
    assert ann.to_records()[1] == {"frame_dir": "some/directory-2", "total_frames": 122, "offset": 213, "label": 4}


def test_multi_label_rawframe_list(tmp_path):
    text = "some/directory-1 163 1 3 5\nsome/directory-2 122 1 2\nsome/directory-3 258 2\n"
    ann = read_label_list(_write(tmp_path, text), multi_class=True, num_classes=6)
    assert ann.format == "rawframe" and ann.multi_class
    np.testing.assert_array_equal(ann.total_frames, [163, 122, 258])
    np.testing.assert_array_equal(ann.labels[0], [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(ann.labels[2], [0, 0, 1, 0, 0, 0])
    assert ann.to_records()[1]["label"] == [1, 2]


def test_multi_label_video_list_is_detected_by_extension(tmp_path):
    ann = read_label_list(_write(tmp_path, "a.mp4 0 2\nb.MKV 1\n"), multi_class=True, num_classes=3)
    assert ann.format == "video"
    np.testing.assert_array_equal(ann.labels, [[1, 0, 1], [0, 1, 0]])


def test_forced_format_overrides_detection(tmp_path):
    path = _write(tmp_path, "clip_a 1 2\n")
    assert read_label_list(path, format="video", multi_class=True, num_classes=3).format == "video"
    assert read_label_list(path, format="rawframe").format == "rawframe"
    with pytest.raises(AnnotationError, match=r"ann.txt:1: expected 'path label' \(video list\), got 3 fields"):
        read_label_list(path, format="video")


def test_blank_lines_are_skipped_and_lines_keep_their_numbers(tmp_path):
    ann = read_label_list(_write(tmp_path, "a.mp4 0\n\n  \nb.mp4 1\n"))
    np.testing.assert_array_equal(ann.line_numbers, [1, 4])
    with pytest.raises(AnnotationError, match=r"ann.txt:4: expected a non-negative integer, got 'x'"):
        read_label_list(_write(tmp_path, "a.mp4 0\n\n\nb.mp4 x\n"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.mp4 0\nb.mp4 1\nc.mp4\n", r"ann.txt:3: expected 'path label' \(video list\), got 1 field: 'c.mp4'"),
        ("d 10 0\nd 10 1 2\n", r"ann.txt:2: expected 'frame_dir total_frames label' \(rawframe list\), got 4"),
        ("a.mp4 -1\n", r"ann.txt:1: expected a non-negative integer, got '-1'"),
        ("a.mp4 1.5\n", r"ann.txt:1: expected a non-negative integer, got '1.5'"),
        ("d x 1\n", r"ann.txt:1: expected a non-negative integer, got 'x'"),
        ("", r"ann.txt: no samples \(the file is empty\)"),
    ],
)
def test_malformed_lines(tmp_path, text, message):
    with pytest.raises(AnnotationError, match=message) as info:
        read_label_list(_write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_multi_label_out_of_range(tmp_path):
    with pytest.raises(AnnotationError, match=r"ann.txt:2: label 7 is out of range for 6 classes"):
        read_label_list(_write(tmp_path, "d 10 1\nd 10 2 7\n"), multi_class=True, num_classes=6)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="nope.txt: no such file"):
        read_label_list(tmp_path / "nope.txt")


def test_sha256_is_of_the_bytes_on_disk(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"a.mp4 0\r\nb.mp4 1\r\n")
    assert read_label_list(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_json_is_not_a_list(tmp_path):
    with pytest.raises(AnnotationError, match="gt.json: this is JSON, not a video or rawframe list"):
        read_label_list(_write(tmp_path, '{"database": {}}\n', name="gt.json"))
