"""Atomic writes leave the old file intact on failure; read_json names file and position."""

from __future__ import annotations

import pytest

from vidact.errors import InputError
from vidact.io import atomic_write, atomic_write_text, read_json


def test_atomic_write_replaces_file(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_atomic_write_keeps_old_content_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write("partial")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_read_json_reports_location(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1,\n "b": }')
    with pytest.raises(InputError, match=r"bad\.json: malformed JSON at line 2, column 7"):
        read_json(bad)


def test_read_json_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_json(tmp_path / "nope.json")


def test_prefetch_hands_its_bytes_to_the_next_read_once(tmp_path):
    from vidact.errors import InputError
    from vidact.io import files

    path = tmp_path / "r.json"
    path.write_bytes(b'{"results": {}}')
    files.prefetch(path)
    assert files.read_source(path) == b'{"results": {}}'
    path.write_bytes(b"changed")
    assert files.read_source(path) == b"changed"  # a second read reads the file again
    files.prefetch(tmp_path / "missing.json")
    files.prefetch(tmp_path)  # a folder: left to read_source
    with pytest.raises(InputError, match="no such file"):
        files.read_source(tmp_path / "missing.json")
    with pytest.raises(InputError, match="is a directory"):
        files.read_source(tmp_path)
    assert files._prefetched == {}
