"""`VideoDataset`: recognition samples listed as `path label` lines, decoded from video files."""

from __future__ import annotations

import os
from typing import Any

from vidact.data.annotations.lists import read_label_list
from vidact.data.datasets.base import PipelineArg, RecognitionDataset


class VideoDataset(RecognitionDataset):
    """Video dataset for action recognition.

    The ann_file is a text file with one sample per line, the video path and its label(s)::

        some/path/000.mp4 1
        some/path/001.mp4 1 3 5        (multi_class=True, num_classes=C)

    A `.json` ann_file holds a list of `{"filename": ..., "label": [...]}` objects instead.
    Each `video_infos` entry has "filename" (joined to `data_prefix`) and "label" (an int, or a
    list of ints for multi-class).

    Args:
        ann_file: path to the annotation file.
        pipeline: the data transforms, as specs, dicts or callables.
        start_index: 0, since frames decoded from a video count from 0.
        **kwargs: the other `BaseDataset` arguments (data_prefix, test_mode, multi_class,
            num_classes, modality, failure_budget).
    """

    def __init__(self, ann_file: str | os.PathLike, pipeline: PipelineArg, start_index: int = 0, **kwargs: Any) -> None:
        super().__init__(ann_file, pipeline, start_index=start_index, **kwargs)

    def load_annotations(self) -> list[dict[str, Any]]:
        """Load annotation file to get video information."""
        if self.ann_file.endswith(".json"):
            return self.load_json_annotations()
        samples = read_label_list(self.ann_file, format="video", multi_class=self.multi_class,
                                  num_classes=self.num_classes)
        video_infos = samples.to_records()
        for info in video_infos:
            info["filename"] = self._join_prefix(info["filename"])
        return video_infos
