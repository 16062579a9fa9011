"""Reading class-score matrices (N samples x C classes) and the protocol metadata beside them.

Accepted: a `.npy` array of shape (N, C); JSON as a list of score lists (what the reference
`test.py --out x.json` writes); or JSON `{"scores": [[...]], "protocol": {...}}` ("meta" is
accepted for "protocol"). The protocol object is free-form and is echoed by `vidact eval`; the keys
vidact writes are `num_clips`, `num_crops`, `aggregation`, `input_size`, `checkpoint_sha256`,
`ann_file` and `ann_file_sha256` (see `vidact.io.provenance`). Pickle files are refused (they can run code).
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidact.errors import InputError
from vidact.io.files import read_json

_NPY_MAGIC = b"\x93NUMPY"


@dataclass(frozen=True)
class Scores:
    """A score matrix and the protocol it was produced under.

    Attributes:
        path: the file as given ('-' is stdin); `name` is what messages print.
        scores: (N, C) float64, all finite.
        protocol: the file's protocol object, or None (always None for .npy).
    """

    path: str
    scores: np.ndarray
    protocol: dict[str, Any] | None

    @property
    def name(self) -> str:
        return "<stdin>" if self.path == "-" else self.path

    @property
    def num_classes(self) -> int:
        return self.scores.shape[1]

    def __len__(self) -> int:
        return self.scores.shape[0]


def read_scores(path: str | Path) -> Scores:
    """Read an (N, C) score matrix from .npy or JSON (or stdin for '-', either kind).

    Raises:
        InputError: missing file, pickle, not 2-D, ragged or non-numeric rows, NaN/inf, empty.
    """
    path = str(path)
    name = "<stdin>" if path == "-" else path
    suffix = Path(path).suffix.lower()
    if suffix in (".pkl", ".pickle"):
        raise InputError(
            f"{name}: pickle files are not read (loading them can run code)",
            hint="save the scores with numpy.save(...) as .npy, or as a JSON list of score lists",
        )
    if path == "-":
        data = sys.stdin.buffer.read()
        if data.startswith(_NPY_MAGIC):
            return Scores(path, _load_npy(io.BytesIO(data), name), None)
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{name}: expected JSON or .npy scores ({exc})") from None
    elif suffix == ".npy" or _starts_with_npy_magic(path):
        return Scores(path, _load_npy(path, name), _sidecar_protocol(path))
    else:
        obj = read_json(path)
    return _from_json(path, name, obj)


def _sidecar_protocol(path: str) -> dict[str, Any] | None:
    """The protocol `vidact test` writes beside a .npy (`scores.npy.protocol.json`), or None."""
    sidecar = Path(path + ".protocol.json")
    if not sidecar.is_file():
        return None
    data = read_json(sidecar)
    if not isinstance(data, dict):
        raise InputError(f"{sidecar}: expected a JSON object with the test protocol")
    return extract_protocol(data, str(sidecar)) if ("protocol" in data or "meta" in data) else data


def extract_protocol(data: dict, name: str) -> dict[str, Any] | None:
    """The "protocol" (or "meta") object of a JSON document, or None.

    Raises:
        InputError: both keys present, or the value is not an object.
    """
    keys = [k for k in ("protocol", "meta") if k in data]
    if len(keys) > 1:
        raise InputError(f"{name}: has both \"protocol\" and \"meta\"; keep one")
    if not keys:
        return None
    protocol = data[keys[0]]
    if not isinstance(protocol, dict):
        raise InputError(f"{name}: \"{keys[0]}\" must be an object of key: value pairs, got {type(protocol).__name__}")
    return protocol


def _starts_with_npy_magic(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(_NPY_MAGIC)) == _NPY_MAGIC
    except OSError:
        return False  # read_json reports missing files and directories


def _load_npy(source: str | io.BytesIO, name: str) -> np.ndarray:
    if isinstance(source, str):
        p = Path(source)
        if not p.is_file():
            raise InputError(f"{name}: no such file" if not p.exists() else f"{name}: is a directory, expected a file")
    try:
        arr = np.load(source, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{name}: not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise InputError(f"{name}: expected a single .npy array, got an .npz archive")
    if arr.dtype.kind not in "fiu":
        raise InputError(f"{name}: expected numeric scores, got dtype {arr.dtype}")
    return _check_matrix(arr.astype(np.float64), name, "")


def _from_json(path: str, name: str, obj: Any) -> Scores:
    protocol = None
    where = ""
    if isinstance(obj, dict):
        if "scores" not in obj:
            raise InputError(f"{name}: missing \"scores\": expected [[...], ...] or {{\"scores\": [[...], ...]}}")
        protocol = extract_protocol(obj, name)
        obj, where = obj["scores"], "scores"
    if not isinstance(obj, list):
        raise InputError(f"{name}: {where or 'the document'}: expected a list of score lists, got {type(obj).__name__}")
    try:
        arr = np.array(obj) if obj else np.empty((0, 0))
    except (ValueError, TypeError, OverflowError):  # ragged rows, huge integers
        arr = np.empty(0, dtype=object)
    if arr.ndim != 2 or arr.dtype.kind not in "fiu":
        _locate_bad_row(obj, name, where)  # raises with the first offending entry
        raise InputError(f"{name}: {where or 'the document'}: expected a list of score lists of one length")
    return Scores(path, _check_matrix(arr.astype(np.float64), name, where), protocol)


def _locate_bad_row(rows: list, name: str, where: str) -> None:
    if rows and not isinstance(rows[0], list):
        raise InputError(f"{name}: {where}[0]: expected a list of scores (one row per sample), got {_kind(rows[0])}")
    width = len(rows[0]) if rows else 0
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise InputError(f"{name}: {where}[{i}]: expected a list of scores, got {_kind(row)}")
        if len(row) != width:
            raise InputError(f"{name}: {where}[{i}]: has {len(row)} scores but {where}[0] has {width}")
        for j, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"{name}: {where}[{i}][{j}]: expected a number, got {_kind(value)}")


def _check_matrix(arr: np.ndarray, name: str, where: str) -> np.ndarray:
    if arr.ndim != 2:
        hint = "average the clip and crop scores per sample first" if arr.ndim == 3 else None
        raise InputError(f"{name}: expected a 2-D array (samples x classes), got shape {arr.shape}", hint=hint)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"{name}: no scores (shape {arr.shape})")
    bad = np.argwhere(~np.isfinite(arr))
    if len(bad):
        i, j = bad[0]
        raise InputError(
            f"{name}: {where}[{i}][{j}]: expected a finite number, got {arr[i, j]} ({len(bad)} such values)"
        )
    return arr


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    kinds = {bool: "a boolean", str: "a string", dict: "an object", list: "a list"}
    return kinds.get(type(value), type(value).__name__)
