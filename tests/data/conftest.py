"""Tiny annotation files for the reader tests: ActivityNet ground truth in both layouts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

OFFICIAL_GT = {
    "version": "VERSION 1.3",
    "taxonomy": [],
    "database": {
        "v_aaa": {
            "subset": "validation",
            "duration": 100.0,
            "annotations": [
                {"segment": [10.0, 20.0], "label": "Run"},
                {"segment": [50.0, 70.0], "label": "Jump"},
            ],
        },
        "v_bbb": {"subset": "validation", "duration": 30.0, "annotations": [{"segment": [0.0, 15.0], "label": "Run"}]},
        "v_ccc": {"subset": "training", "duration": 60.0, "annotations": [{"segment": [1.0, 2.0], "label": "Swim"}]},
        "v_ddd": {"subset": "testing", "duration": 60.0, "annotations": []},
        "v_eee": {"subset": "validation", "duration": 10.0, "annotations": []},
    },
}

PER_VIDEO_GT = {
    "v_aaa": {
        "duration_second": 100.0,
        "duration_frame": 3000,
        "annotations": [{"segment": [10.0, 20.0], "label": "Run"}],
        "feature_frame": 2992,
        "fps": 30.0,
        "rfps": 29.97,
    },
    "v_bbb": {
        "duration_second": 30.0,
        "duration_frame": 900,
        "annotations": [{"segment": [0.0, 15.0], "label": "Jump"}],
        "feature_frame": 896,
        "fps": 30.0,
        "rfps": 30.0,
    },
}


@pytest.fixture
def write_anet_json(tmp_path: Path) -> Callable[[str, object], Path]:
    """Write an object as JSON into tmp_path and return the path."""

    def write(name: str, obj: object) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(obj))
        return path

    return write


@pytest.fixture
def official_gt(write_anet_json) -> Path:
    return write_anet_json("gt.json", OFFICIAL_GT)


@pytest.fixture
def per_video_gt(write_anet_json) -> Path:
    return write_anet_json("anet_anno.json", PER_VIDEO_GT)
