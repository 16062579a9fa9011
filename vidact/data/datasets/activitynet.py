"""`ActivityNetDataset`: per-video ActivityNet annotations + snippet features, for BSN/BMN proposals."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from vidact.data.annotations.activitynet import normalize_video_id, read_video_infos
from vidact.data.datasets.base import BaseDataset, PipelineArg
from vidact.data.datasets.failures import FailureBudget
from vidact.evaluation import ar_an
from vidact.evaluation.proposals import DEFAULT_TIOU_THRESHOLDS
from vidact.io.files import atomic_write

log = logging.getLogger(__name__)

CSV_HEADER = "action,start,end,tmin,tmax"


class ActivityNetDataset(BaseDataset):
    """ActivityNet dataset for temporal action localization.

    The ann_file is a JSON object with one entry per video::

        {"v_--1DO2V4K74": {"duration_second": 211.53, "duration_frame": 6337,
                           "annotations": [{"segment": [30.03, 205.23], "label": "Rock climbing"}],
                           "feature_frame": 6336, "fps": 30.0, "rfps": 29.96}, ...}

    Each `video_infos` entry is that object plus "video_name"; samples also carry "data_prefix"
    (the feature folder `LoadLocalizationFeature` reads).

    Args:
        ann_file: path to the annotation file.
        pipeline: the data transforms, as specs, dicts or callables.
        data_prefix: folder holding the per-video feature files.
        test_mode: build a test or validation dataset.
        failure_budget: see `BaseDataset`.
    """

    def __init__(
        self,
        ann_file: str | os.PathLike,
        pipeline: PipelineArg,
        data_prefix: str | os.PathLike | None = None,
        test_mode: bool = False,
        *,
        failure_budget: FailureBudget = None,
    ) -> None:
        super().__init__(ann_file, pipeline, data_prefix, test_mode, failure_budget=failure_budget)

    def load_annotations(self) -> list[dict[str, Any]]:
        """Load the annotation according to ann_file into video_infos."""
        return read_video_infos(self.ann_file)

    def _sample_results(self, idx: int) -> dict[str, Any]:
        results = super()._sample_results(idx)
        del results["modality"], results["start_index"]  # features, not frames
        results["data_prefix"] = self.data_prefix
        return results

    # -- results -----------------------------------------------------------------------------

    def proposals2json(self, results: Sequence[dict], show_progress: bool = False) -> dict[str, list]:
        """Convert all proposals to a final dict(json) format.

        Args:
            results: per video, {"video_name": ..., "proposal_list": [{"segment": [s, e], "score": x}]}.
            show_progress: accepted for compatibility; progress is not drawn by the library.

        Returns:
            video id (without "v_") -> its proposal list.
        """
        return {normalize_video_id(r["video_name"]): r["proposal_list"] for r in results}

    def _import_ground_truth(self) -> dict[str, np.ndarray]:
        """Video id -> (G, 2) float64 [start_sec, end_sec] of its annotations."""
        ground_truth = {}
        for info in self.video_infos:
            segments = [ann["segment"] for ann in info["annotations"]]
            ground_truth[normalize_video_id(info["video_name"])] = np.asarray(segments, np.float64).reshape(-1, 2)
        return ground_truth

    @staticmethod
    def _import_proposals(results: Sequence[dict]) -> tuple[dict[str, np.ndarray], int]:
        """Video id -> (K, 3) float64 [start, end, score], and the total number of proposals."""
        proposals, num_proposals = {}, 0
        for result in results:
            rows = [[*p["segment"], p["score"]] for p in result["proposal_list"]]
            proposals[normalize_video_id(result["video_name"])] = np.asarray(rows, np.float64).reshape(-1, 3)
            num_proposals += len(rows)
        return proposals, num_proposals

    def dump_results(self, results: Sequence[Any], out: str | os.PathLike, output_format: str,
                     version: str = "VERSION 1.3") -> None:
        """Write proposals as an ActivityNet results JSON, or one CSV per video (atomically).

        Args:
            results: for 'json', dicts as `proposals2json` takes; for 'csv', (video_name,
                (N, 5) array) pairs with columns action, start, end, tmin, tmax.
            out: the JSON file, or the folder for the CSV files.
            output_format: 'json' or 'csv'.
            version: the "version" field of the JSON file.
        """
        if output_format == "json":
            document: dict[str, Any] = {"version": version, "results": self.proposals2json(results),
                                        "external_data": {}}
            if self.ann_file and os.path.isfile(self.ann_file):
                # `vidact eval` without --ann finds the ground truth through this record.
                from vidact.io.provenance import annotation_record

                document["protocol"] = annotation_record(self.ann_file)
            super().dump_results(document, out)
        elif output_format == "csv":
            os.makedirs(out, exist_ok=True)
            for video_name, outputs in results:
                with atomic_write(os.path.join(out, f"{video_name}.csv"), "w", encoding="utf-8") as fh:
                    np.savetxt(fh, np.asarray(outputs), header=CSV_HEADER, delimiter=",", comments="")
        else:
            raise ValueError(f"The output format {output_format} is not supported; use 'json' or 'csv'.")

    def evaluate(
        self,
        results: list,
        metrics: str | Sequence[str] = "AR@AN",
        max_avg_proposals: int = 100,
        temporal_iou_thresholds: np.ndarray = DEFAULT_TIOU_THRESHOLDS,
        logger: logging.Logger | None = None,
        **deprecated_kwargs: Any,
    ) -> dict[str, float]:
        """Average recall vs. average number of proposals (the ActivityNet kit's numbers).

        Other keyword arguments (the `topk` a shared `evaluation` section passes) are ignored, as
        the reference's `**deprecated_kwargs` are.

        Args:
            results: per video, in dataset order, {"video_name", "proposal_list"} as for
                `proposals2json`; or TEM's (video_name, (T, 5) curves) pairs, scored through
                `tem_proposal_list` (boundary pairs, soft-NMS, top 100).
            metrics: only 'AR@AN'.
            max_avg_proposals: AN at the end of the curve.
            temporal_iou_thresholds: tIoU thresholds averaged over.
            logger: where to log the numbers (default: this module's logger).

        Returns:
            'auc' (percent) and 'AR@1', 'AR@5', 'AR@10', 'AR@100' (fractions).

        Raises:
            TypeError: results is not a list. ValueError: its length differs from the dataset's.
            KeyError: an unknown metric.
        """
        logger = logger or log
        metrics = self._check_results(results, metrics, ("AR@AN",))
        if results and isinstance(results[0], tuple):  # TEM curves: score what TEM alone proposes
            from vidact.localization.tem_proposals import tem_proposal_list

            results = [{"video_name": name, "proposal_list": tem_proposal_list(table, info)}
                       for (name, table), info in zip(results, self.video_infos)]
        self._warn_substituted(logger)
        proposals, _ = self._import_proposals(results)
        outcome = ar_an(self._import_ground_truth(), proposals, max_avg_proposals,
                        np.asarray(temporal_iou_thresholds, dtype=np.float64))
        eval_results = {"auc": outcome.auc, **{k: v for k, v in outcome.metrics.items() if k != "auc"}}
        for name, value in eval_results.items():
            logger.info("%s\t%.4f", name, value)
        return eval_results
