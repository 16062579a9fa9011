"""`RawframeDataset`: recognition samples stored as folders of frame images."""

from __future__ import annotations

import os
from typing import Any

from vidact.data.annotations.lists import read_label_list
from vidact.data.datasets.base import MODALITIES, PipelineArg, RecognitionDataset
from vidact.data.datasets.failures import FailureBudget


class RawframeDataset(RecognitionDataset):
    """Rawframe dataset for action recognition.

    The ann_file is a text file with one sample per line: the frame folder, its number of frames
    and the label(s); with `with_offset`, the index of the clip's first frame comes before the
    frame count::

        some/directory-1 163 1
        some/directory-2 122 1 2           (multi_class=True, num_classes=C)
        some/directory-3 12 163 3          (with_offset=True)

    A `.json` ann_file holds a list of `{"frame_dir": ..., "total_frames": ..., "label": [...]}`
    objects instead. Each `video_infos` entry has "frame_dir" (joined to `data_prefix`),
    "total_frames", "label" and, with offsets, "offset"; samples also carry "filename_tmpl".

    Args:
        ann_file: path to the annotation file.
        pipeline: the data transforms, as specs, dicts or callables.
        data_prefix: folder that relative frame folders are joined to.
        test_mode: build a test or validation dataset.
        filename_tmpl: frame file name template; Flow needs the direction and the number,
            e.g. '{}_{:05d}.jpg'.
        with_offset: lines carry the clip's start frame before the frame count.
        multi_class: lines carry several labels.
        num_classes: number of classes (multi-class).
        start_index: number of the first frame file.
        modality: 'RGB' or 'Flow'.
        failure_budget: see `BaseDataset`.
    """

    def __init__(
        self,
        ann_file: str | os.PathLike,
        pipeline: PipelineArg,
        data_prefix: str | os.PathLike | None = None,
        test_mode: bool = False,
        filename_tmpl: str = "img_{:05}.jpg",
        with_offset: bool = False,
        multi_class: bool = False,
        num_classes: int | None = None,
        start_index: int = 1,
        modality: str = "RGB",
        *,
        failure_budget: FailureBudget = None,
    ) -> None:
        _check_template(filename_tmpl, modality)
        self.filename_tmpl = filename_tmpl
        self.with_offset = with_offset
        super().__init__(ann_file, pipeline, data_prefix, test_mode, multi_class, num_classes, start_index,
                         modality, failure_budget=failure_budget)

    def load_annotations(self) -> list[dict[str, Any]]:
        """Load annotation file to get video information."""
        if self.ann_file.endswith(".json"):
            return self.load_json_annotations()
        samples = read_label_list(self.ann_file, format="rawframe", with_offset=self.with_offset,
                                  multi_class=self.multi_class, num_classes=self.num_classes)
        video_infos = samples.to_records()
        for info in video_infos:
            info["frame_dir"] = self._join_prefix(info["frame_dir"])
        return video_infos

    def _sample_results(self, idx: int) -> dict[str, Any]:
        results = super()._sample_results(idx)
        results["filename_tmpl"] = self.filename_tmpl
        return results


def _check_template(filename_tmpl: str, modality: str) -> None:
    """Fail early when the template cannot name every frame of this modality apart."""
    if modality not in MODALITIES:
        return  # BaseDataset reports the modality
    args = [(1,), (2,)] if modality == "RGB" else [("x", 1), ("y", 1), ("x", 2), ("y", 2)]
    try:
        distinct = len({filename_tmpl.format(*a) for a in args}) == len(args)
        problem = "" if distinct else "it gives the same name to different frames"
    except (IndexError, ValueError, KeyError) as exc:
        problem = str(exc)
    if problem:
        example = "'img_{:05}.jpg'" if modality == "RGB" else "'{}_{:05d}.jpg' (direction, then number)"
        raise ValueError(f"filename_tmpl {filename_tmpl!r} cannot name a {modality} frame ({problem}); "
                         f"use e.g. {example}")
