"""Score-matrix reader: .npy, JSON lists, JSON with protocol, stdin, and every bad shape."""

from __future__ import annotations

import io
import json
import pickle
import sys

import numpy as np
import pytest

from vidact.errors import InputError
from vidact.io.scores import read_scores


def _json(tmp_path, obj, name="scores.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


def test_npy(tmp_path):
    path = tmp_path / "scores.npy"
    np.save(path, np.array([[0.1, 0.9], [0.7, 0.3]], dtype=np.float32))
    scores = read_scores(path)
    assert scores.scores.dtype == np.float64 and scores.scores.shape == (2, 2)
    assert scores.protocol is None and len(scores) == 2 and scores.num_classes == 2


def test_npy_without_suffix_is_sniffed(tmp_path):
    path = tmp_path / "scores.bin"
    with open(path, "wb") as fh:
        np.save(fh, np.eye(3))
    np.testing.assert_array_equal(read_scores(path).scores, np.eye(3))


def test_json_list_of_lists(tmp_path):
    scores = read_scores(_json(tmp_path, [[1, 2, 3], [0.5, 0, 0]]))
    np.testing.assert_array_equal(scores.scores, [[1, 2, 3], [0.5, 0, 0]])
    assert scores.protocol is None


@pytest.mark.parametrize("key", ["protocol", "meta"])
def test_json_with_protocol(tmp_path, key):
    protocol = {"num_clips": 10, "num_crops": 3, "aggregation": "mean"}
    scores = read_scores(_json(tmp_path, {"scores": [[1, 0]], key: protocol}))
    assert scores.protocol == protocol


@pytest.mark.parametrize("payload", ["json", "npy"])
def test_stdin(monkeypatch, payload):
    if payload == "json":
        data = json.dumps({"scores": [[0.2, 0.8]], "protocol": {"num_clips": 1}}).encode()
    else:
        buf = io.BytesIO()
        np.save(buf, np.array([[0.2, 0.8]]))
        data = buf.getvalue()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    scores = read_scores("-")
    np.testing.assert_array_equal(scores.scores, [[0.2, 0.8]])
    assert scores.name == "<stdin>"


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([1, 2, 3], r"\[0\]: expected a list of scores \(one row per sample\), got int"),
        ([[1, 2], [1, 2, 3]], r"\[1\]: has 3 scores but \[0\] has 2"),
        ({"scores": [[1, 2], [1, "x"]]}, r"scores\[1\]\[1\]: expected a number, got a string"),
        ({"scores": [[1, 2], [None, 1]]}, r"scores\[1\]\[0\]: expected a number, got null"),
        ({"scores": [[1, 2], [float("nan"), 1]]}, r"scores\[1\]\[0\]: expected a finite number, got nan \(1 such"),
        ([[1, float("inf")]], r"\[0\]\[1\]: expected a finite number, got inf"),
        ([], r"no scores"),
        ([[]], r"no scores"),
        ({"score": []}, r'missing "scores"'),
        ({"scores": {"a": 1}}, r"scores: expected a list of score lists, got dict"),
        ("hello", r"the document: expected a list of score lists, got str"),
        ({"scores": [[1]], "protocol": [1]}, r'"protocol" must be an object'),
    ],
)
def test_bad_json(tmp_path, obj, message):
    with pytest.raises(InputError, match=message) as info:
        read_scores(_json(tmp_path, obj))
    assert "scores.json" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros(4), r"expected a 2-D array \(samples x classes\), got shape \(4,\)"),
        (np.zeros((2, 3, 4)), r"expected a 2-D array \(samples x classes\), got shape \(2, 3, 4\)"),
        (np.array([["a", "b"]]), r"expected numeric scores, got dtype <U1"),
        (np.array([[0.0, np.nan]]), r"\[0\]\[1\]: expected a finite number, got nan"),
        (np.zeros((0, 5)), r"no scores \(shape \(0, 5\)\)"),
    ],
)
def test_bad_npy(tmp_path, array, message):
    path = tmp_path / "scores.npy"
    np.save(path, array)
    with pytest.raises(InputError, match=message):
        read_scores(path)


def test_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="nope.npy: no such file"):
        read_scores(tmp_path / "nope.npy")
    with pytest.raises(InputError, match="nope.json: no such file"):
        read_scores(tmp_path / "nope.json")
    (tmp_path / "dir.npy").mkdir()
    with pytest.raises(InputError, match="dir.npy: is a directory"):
        read_scores(tmp_path / "dir.npy")
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(InputError, match=r"bad.npy: not a readable .npy array"):
        read_scores(tmp_path / "bad.npy")
    (tmp_path / "s.pkl").write_bytes(pickle.dumps([[1.0]]))
    with pytest.raises(InputError, match=r"s.pkl: pickle files are not read") as info:
        read_scores(tmp_path / "s.pkl")
    assert ".npy" in info.value.hint
    (tmp_path / "bad.json").write_text('{"scores": [[1, 2]')
    with pytest.raises(InputError, match=r"bad.json: malformed JSON at line 1"):
        read_scores(tmp_path / "bad.json")


def test_npy_sidecar_protocol_is_read(tmp_path):
    """`vidact test --out scores.npy` writes `scores.npy.protocol.json`; eval echoes it."""
    import json

    path = tmp_path / "scores.npy"
    np.save(path, np.eye(3, dtype=np.float32))
    (tmp_path / "scores.npy.protocol.json").write_text(json.dumps({"num_clips": 10, "num_crops": 3}))
    scores = read_scores(path)
    assert scores.protocol == {"num_clips": 10, "num_crops": 3}
    (tmp_path / "scores.npy.protocol.json").unlink()
    assert read_scores(path).protocol is None
