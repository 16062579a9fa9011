"""A minimal valid recipe and a helper that writes YAML files into tmp_path."""

from __future__ import annotations

import copy
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

MINIMAL: dict[str, Any] = {
    "model": {
        "type": "Recognizer2D",
        "backbone": {"type": "ResNetTSM", "depth": 50},
        "cls_head": {"type": "TSMHead", "num_classes": 4, "in_channels": 2048},
    },
    "data": {
        "videos_per_gpu": 2,
        "workers_per_gpu": 0,
        "train": {
            "type": "VideoDataset",
            "ann_file": "train.txt",
            "pipeline": [
                {"type": "PyAVInit"},
                {"type": "SampleFrames", "clip_len": 1, "num_clips": 8},
                {"type": "PyAVDecode"},
                {"type": "CenterCrop", "crop_size": 224},
            ],
        },
    },
    "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9},
    "total_epochs": 2,
}


@pytest.fixture
def minimal() -> dict[str, Any]:
    """A fresh copy of the smallest valid recipe, to break one key at a time."""
    return copy.deepcopy(MINIMAL)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | dict], Path]:
    """write(name, text_or_mapping) -> path under tmp_path (subfolders created)."""

    def _write(name: str, content: str | dict) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(content, sort_keys=False) if isinstance(content, dict) else textwrap.dedent(content)
        path.write_text(text)
        return path

    return _write
