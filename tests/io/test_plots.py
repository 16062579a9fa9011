"""Eval figures: PNGs are written atomically; a missing matplotlib is a clear input error."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from vidact.errors import InputError
from vidact.io.plots import plot_ar_an, plot_confusion_matrix

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_confusion_matrix_png(tmp_path):
    path = plot_confusion_matrix(np.array([[2, 1], [0, 3]]), tmp_path / "out" / "cm.png", labels=["a", "b"])
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert [p.name for p in path.parent.iterdir()] == ["cm.png"]  # no temp file left behind


def test_ar_an_png(tmp_path):
    an = np.linspace(1, 100, 100)
    path = plot_ar_an(an, 1 - np.exp(-an / 20), tmp_path / "arn.png", auc=64.2)
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_unknown_suffix(tmp_path):
    with pytest.raises(InputError, match=r"cm.xyz: cannot write a .xyz figure; use one of: .*png"):
        plot_confusion_matrix(np.eye(2), tmp_path / "cm.xyz")


def test_missing_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(InputError, match=r"needs matplotlib.*pip install 'vidact\[plot\]'"):
        plot_ar_an(np.arange(3), np.zeros(3), tmp_path / "arn.png")
    assert not (tmp_path / "arn.png").exists()
