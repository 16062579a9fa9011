"""Datasets with the reference names: annotation files in, prepared samples out.

`VideoDataset` and `RawframeDataset` for recognition, `ActivityNetDataset` (BSN/BMN features) and
`SSNDataset` (proposal lists) for localization, and `RepeatDataset`. Samples that fail to decode
are replaced and reported (see `vidact.data.datasets.base`).
"""

from vidact.data.datasets.activitynet import ActivityNetDataset
from vidact.data.datasets.base import BaseDataset, RecognitionDataset
from vidact.data.datasets.failures import FailureTracker, SampleFailure, resolve_budget
from vidact.data.datasets.rawframe import RawframeDataset
from vidact.data.datasets.ssn import SSNDataset, SSNInstance
from vidact.data.datasets.video import VideoDataset
from vidact.data.datasets.wrappers import RepeatDataset

__all__ = [
    "ActivityNetDataset",
    "BaseDataset",
    "FailureTracker",
    "RawframeDataset",
    "RecognitionDataset",
    "RepeatDataset",
    "SSNDataset",
    "SSNInstance",
    "SampleFailure",
    "VideoDataset",
    "resolve_budget",
]
