"""`BaseDataset`: annotations -> `video_infos`, one pipeline run per sample, bad samples replaced.

`RecognitionDataset` adds the recognition `evaluate` shared by `VideoDataset` and `RawframeDataset`.

Bad data: when preparing a sample raises `DecodeError` (corrupt, truncated or zero-frame video, a
missing frame file or folder), `__getitem__` logs the path and reason once, counts the failure and
serves the next index that decodes instead (index + 1, + 2, ... wrapping around; deterministic, so
a resumed run sees the same data). Samples known to be bad are skipped without another decode. In
test mode the same happens, and the replaced indices are listed by `failure_report()`: their
results belong to another video, which `evaluate` warns about and the engine can flag. Past the
`failure_budget` (see `vidact.data.datasets.failures`) the dataset raises a `DecodeError` that
summarises the failures. With DataLoader workers each process keeps its own counts and budget;
`failure_report()` in the main process merges what every process saw.
"""

from __future__ import annotations

import abc
import copy
import json
import logging
import operator
import os
import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import yaml
from torch.utils.data import Dataset

from vidact.data.datasets.failures import FailureBudget, FailureTracker, SampleFailure, resolve_budget
from vidact.data.pipelines import Compose
from vidact.errors import AnnotationError, DecodeError
from vidact.evaluation import mean_average_precision, mean_class_accuracy, top_k_accuracy
from vidact.io.files import atomic_write, read_json

log = logging.getLogger(__name__)

PipelineArg = Sequence[Any] | Compose
"""A pipeline: step specs, `{type: ..., ...}` dicts or callables (mixed), or a built `Compose`."""

MODALITIES = ("RGB", "Flow")


def build_compose(pipeline: PipelineArg) -> Compose:
    """Build a dataset's pipeline (a `Compose` is kept as it is)."""
    if isinstance(pipeline, Compose):
        return pipeline
    # Imported here: the registry imports the dataset classes, so a module-level import would cycle.
    from vidact.data.build import build_pipeline

    return build_pipeline(pipeline)


class BaseDataset(Dataset, metaclass=abc.ABCMeta):
    """Base of the video datasets: subclasses implement `load_annotations` and `evaluate`.

    Args:
        ann_file: path to the annotation file.
        pipeline: the data transforms, as specs, dicts or callables.
        data_prefix: folder that relative video / frame-folder paths are joined to.
        test_mode: build a test or validation dataset (`__getitem__` calls `prepare_test_frames`).
        multi_class: samples carry several labels, returned as a (num_classes,) float32 many-hot.
        num_classes: number of classes; required with `multi_class`.
        start_index: number of the first frame: 1 for `img_00001.jpg` frame folders, 0 for
            frames decoded from video files.
        modality: 'RGB' or 'Flow'.
        failure_budget: how many samples may fail to decode before it is an error (an int count,
            a float fraction of the dataset, or None for max(10, 5%)).
    """

    def __init__(
        self,
        ann_file: str | os.PathLike,
        pipeline: PipelineArg,
        data_prefix: str | os.PathLike | None = None,
        test_mode: bool = False,
        multi_class: bool = False,
        num_classes: int | None = None,
        start_index: int = 1,
        modality: str = "RGB",
        *,
        failure_budget: FailureBudget = None,
    ) -> None:
        super().__init__()
        if multi_class and num_classes is None:
            raise ValueError("multi_class=True needs num_classes")
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
        self.ann_file = os.fspath(ann_file)
        if data_prefix is not None:
            data_prefix = os.fspath(data_prefix)
            data_prefix = os.path.realpath(data_prefix) if os.path.isdir(data_prefix) else data_prefix
        self.data_prefix = data_prefix
        self.test_mode = test_mode
        self.multi_class = multi_class
        self.num_classes = num_classes
        self.start_index = start_index
        self.modality = modality
        self.pipeline = build_compose(pipeline)
        self.video_infos: list[dict[str, Any]] = self.load_annotations()
        self.failure_budget = failure_budget
        resolve_budget(failure_budget, len(self.video_infos))  # refuse a bad budget now, not mid-epoch
        self._failures = FailureTracker(self.ann_file, failure_budget)

    # -- annotations -------------------------------------------------------------------------

    @abc.abstractmethod
    def load_annotations(self) -> list[dict[str, Any]]:
        """Load the annotation according to ann_file into video_infos."""

    def load_json_annotations(self) -> list[dict[str, Any]]:
        """Load a JSON list of video infos (`frame_dir` or `filename`, `label`, ...).

        Labels are lists; single-label datasets need exactly one per entry and store it as an int.

        Raises:
            AnnotationError: naming the file and entry, for a malformed entry.
        """
        data = read_json(self.ann_file)
        if not isinstance(data, list) or not data:
            raise AnnotationError(f"{self.ann_file}: expected a non-empty JSON list of video infos")
        path_key = "frame_dir" if isinstance(data[0], dict) and "frame_dir" in data[0] else "filename"
        video_infos = []
        for i, info in enumerate(data):
            where = f"{self.ann_file}: [{i}]"
            if not isinstance(info, dict) or path_key not in info or "label" not in info:
                raise AnnotationError(f"{where}: expected an object with {path_key!r} and 'label'")
            info = dict(info)
            info[path_key] = self._join_prefix(str(info[path_key]))
            info["label"] = self._json_label(info["label"], where)
            video_infos.append(info)
        return video_infos

    def _json_label(self, label: Any, where: str) -> int | list[int]:
        """A JSON entry's label list as the dataset stores it: the list (multi-class) or its one int."""
        labels = label if isinstance(label, list) else [label]
        if not labels or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in labels):
            raise AnnotationError(f"{where}: 'label' must be a class index or a list of them, got {label!r}")
        if self.multi_class:
            if max(labels) >= self.num_classes:
                raise AnnotationError(f"{where}: label {max(labels)} is out of range for {self.num_classes} classes")
            return labels
        if len(labels) != 1:
            raise AnnotationError(f"{where}: {len(labels)} labels in a single-label dataset (set multi_class)")
        return labels[0]

    def _join_prefix(self, path: str) -> str:
        return path if self.data_prefix is None else os.path.join(self.data_prefix, path)

    # -- samples -----------------------------------------------------------------------------

    def _sample_results(self, idx: int) -> dict[str, Any]:
        """A fresh results dict for sample `idx`: its info plus dataset-wide keys."""
        results = copy.deepcopy(self.video_infos[idx])
        results["modality"] = self.modality
        results["start_index"] = self.start_index
        if self.multi_class and isinstance(results.get("label"), list):
            onehot = torch.zeros(self.num_classes)
            onehot[results["label"]] = 1.0
            results["label"] = onehot
        return results

    def prepare_train_frames(self, idx: int) -> Any:
        """Prepare the frames for training given the index."""
        return self.pipeline(self._sample_results(idx))

    def prepare_test_frames(self, idx: int) -> Any:
        """Prepare the frames for testing given the index."""
        return self.pipeline(self._sample_results(idx))

    def __len__(self) -> int:
        """Get the size of the dataset."""
        return len(self.video_infos)

    def __getitem__(self, idx: int) -> Any:
        """The prepared sample `idx`, or, when it cannot be decoded, the next one that can.

        Raises:
            IndexError: `idx` is out of range.
            DecodeError: the failure budget is exceeded, or no sample decodes.
        """
        num_samples = len(self)
        idx = operator.index(idx)
        if not -num_samples <= idx < num_samples:
            raise IndexError(f"index {idx} is out of range for a dataset of {num_samples} samples")
        idx %= num_samples
        prepare = self.prepare_test_frames if self.test_mode else self.prepare_train_frames
        return self._first_decodable(idx, prepare)

    def _first_decodable(self, idx: int, prepare: Callable[[int], Any]) -> Any:
        num_samples = len(self)
        missed: list[int] = []
        for step in range(num_samples):
            candidate = (idx + step) % num_samples
            if candidate not in self._failures:
                try:
                    sample = prepare(candidate)
                except DecodeError as exc:
                    self._failures.add(candidate, self._sample_path(candidate), str(exc), num_samples)
                else:
                    for bad in missed:
                        self._failures.miss(bad, substitute=candidate if bad == idx else None)
                    return sample
            missed.append(candidate)
        raise DecodeError(f"{self.ann_file}: none of the {num_samples} samples can be decoded; "
                          f"e.g. {self._failures.report()[0]}")

    def _sample_path(self, idx: int) -> str:
        info = self.video_infos[idx]
        for key in ("filename", "frame_dir", "video_name", "video_id"):
            if key in info:
                return str(info[key])
        return f"sample {idx}"

    def failure_report(self) -> list[SampleFailure]:
        """Samples that failed to decode so far (path, reason, count, substitute), by index.

        Includes what DataLoader worker processes saw. In test mode, the results at these indices
        were computed from the substitute sample.
        """
        return self._failures.report()

    # -- results -----------------------------------------------------------------------------

    @abc.abstractmethod
    def evaluate(self, results: list, metrics: str | Sequence[str], logger: logging.Logger | None) -> dict:
        """Evaluation for the dataset; returns a dict of metric name -> value."""

    def dump_results(self, results: Any, out: str | os.PathLike) -> None:
        """Dump results to a .json, .yaml/.yml or .pkl/.pickle file (written atomically)."""
        ext = os.path.splitext(os.fspath(out))[1].lower()
        if ext == ".json":
            with atomic_write(out, "w", encoding="utf-8") as fh:
                json.dump(results, fh, default=_plain)
        elif ext in (".yaml", ".yml"):
            with atomic_write(out, "w", encoding="utf-8") as fh:
                yaml.safe_dump(json.loads(json.dumps(results, default=_plain)), fh)
        elif ext in (".pkl", ".pickle"):
            with atomic_write(out, "wb") as fh:
                pickle.dump(results, fh)
        else:
            raise ValueError(f"{os.fspath(out)}: unsupported results format {ext!r}; use .json, .yaml or .pkl")

    def _check_results(self, results: Any, metrics: str | Sequence[str], allowed: Sequence[str]) -> list[str]:
        """The checks every `evaluate` starts with: `results` is a list with one entry per sample and
        each metric is one of `allowed`. Returns `metrics` as a list.

        Raises:
            TypeError: results is not a list. ValueError: its length differs from the dataset's.
            KeyError: an unknown metric.
        """
        if not isinstance(results, list):
            raise TypeError(f"results must be a list, but got {type(results)}")
        if len(results) != len(self):
            raise ValueError(f"The length of results is not equal to the dataset len: {len(results)} != {len(self)}")
        metrics = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
        for metric in metrics:
            if metric not in allowed:
                raise KeyError(f"metric {metric} is not supported; supported: {', '.join(allowed)}")
        return metrics

    def _warn_substituted(self, logger: logging.Logger) -> None:
        failures = self.failure_report()
        if failures:
            indices = ", ".join(str(f.index) for f in failures[:20])
            logger.warning("%d sample(s) of %s could not be decoded and were replaced by a neighbour, so "
                           "their results belong to other videos: indices %s%s", len(failures),
                           self.ann_file, indices, " ..." if len(failures) > 20 else "")


class RecognitionDataset(BaseDataset):
    """A `BaseDataset` of labelled clips, with top-k accuracy, mean class accuracy and mAP."""

    @staticmethod
    def label2array(num: int, label: int | Sequence[int]) -> np.ndarray:
        """(num,) float32 many-hot of `label`."""
        arr = np.zeros(num, dtype=np.float32)
        arr[label] = 1.0
        return arr

    def evaluate(
        self,
        results: list,
        metrics: str | Sequence[str] = "top_k_accuracy",
        topk: int | tuple[int, ...] = (1, 5),
        logger: logging.Logger | None = None,
    ) -> dict[str, float]:
        """Evaluate per-sample class scores against the annotated labels.

        Args:
            results: one (num_classes,) score array per sample, in dataset order.
            metrics: any of 'top_k_accuracy', 'mean_class_accuracy', 'mean_average_precision'.
            topk: k values for top_k_accuracy.
            logger: where to log the numbers (default: this module's logger).

        Returns:
            'top{k}_acc' per k, 'mean_class_accuracy', 'mean_average_precision', as asked.

        Raises:
            TypeError: results is not a list, or topk not an int or tuple.
            ValueError: results and dataset lengths differ.
            KeyError: an unknown metric.
        """
        logger = logger or log
        metrics = self._check_results(results, metrics,
                                      ("top_k_accuracy", "mean_class_accuracy", "mean_average_precision"))
        if not isinstance(topk, (int, tuple)):
            raise TypeError(f"topk must be int or tuple of int, but got {type(topk)}")
        topk = (topk,) if isinstance(topk, int) else topk
        self._warn_substituted(logger)
        gt_labels = [info["label"] for info in self.video_infos]
        scores = np.stack([np.asarray(r) for r in results]) if results else np.zeros((0, 0))
        eval_results: dict[str, float] = {}
        for metric in metrics:
            if metric == "top_k_accuracy":
                for k, acc in zip(topk, top_k_accuracy(scores, gt_labels, topk), strict=True):
                    eval_results[f"top{k}_acc"] = acc
            elif metric == "mean_class_accuracy":
                eval_results["mean_class_accuracy"] = mean_class_accuracy(scores, gt_labels)
            else:
                num_classes = self.num_classes or scores.shape[1]
                truth = np.stack([self.label2array(num_classes, label) for label in gt_labels])
                eval_results["mean_average_precision"] = mean_average_precision(scores, truth)
        for name, value in eval_results.items():
            logger.info("%s\t%.4f", name, value)
        return eval_results


def _plain(value: Any) -> Any:
    """JSON fallback for arrays, tensors and NumPy scalars."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
