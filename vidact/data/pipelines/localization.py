"""Localization steps: load snippet features and PGM proposals, and normalise ground truth.

File layouts follow the reference (BSN/BMN on ActivityNet): a feature CSV has a header row and
one row per temporal position; a PGM proposal CSV has a header and columns
xmin, xmax, xmin_score, xmax_score, score, match_iou, ...; BSP features are (N, D) .npy.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from vidact.data import functional as F
from vidact.errors import InputError


def _load_csv(path: str, what: str) -> np.ndarray:
    """A numeric CSV with one header row as a 2-D float32 array (a single row stays 2-D)."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*input contained no data")
            return np.loadtxt(path, dtype=np.float32, delimiter=",", skiprows=1, ndmin=2)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read {what}: {exc}") from exc


def _load_npy(path: str, what: str) -> np.ndarray:
    try:
        return np.load(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read {what}: {exc}") from exc


class LoadLocalizationFeature:
    """Load a video's feature CSV (T rows x C columns) as "raw_feature": (C, T) float32.

    Required keys are "video_name" and "data_prefix"; added or modified key is "raw_feature".

    Args:
        raw_feature_ext: feature file extension; only ".csv".
    """

    def __init__(self, raw_feature_ext: str = ".csv") -> None:
        if raw_feature_ext not in (".csv",):
            raise NotImplementedError(f"raw_feature_ext {raw_feature_ext!r}: only '.csv' is supported")
        self.raw_feature_ext = raw_feature_ext

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        path = os.path.join(results["data_prefix"], results["video_name"] + self.raw_feature_ext)
        raw_feature = _load_csv(path, "features")
        results["raw_feature"] = np.ascontiguousarray(raw_feature.T)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(raw_feature_ext={self.raw_feature_ext})"


class GenerateLocalizationLabels:
    """Turn annotated segments (seconds) into "gt_bbox": (N, 2) float64 positions in [0, 1].

    Features cover only `feature_frame` of the video's `duration_frame` frames, so seconds are
    divided by `feature_frame / duration_frame * duration_second` and clipped to [0, 1].
    Required keys are "duration_frame", "duration_second", "feature_frame" and "annotations"
    (each with "segment": [start_sec, end_sec]); added or modified key is "gt_bbox".
    """

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        corrected_second = float(results["feature_frame"]) / results["duration_frame"] * results["duration_second"]
        segments = [ann["segment"] for ann in results["annotations"]]
        results["gt_bbox"] = F.normalize_segments(np.asarray(segments, dtype=np.float64), corrected_second)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LoadProposals:
    """Load the top-k PGM proposals and their BSP features for a video.

    Required key is "video_name"; added or modified keys are "bsp_feature" ((k, D) float32),
    "tmin", "tmax", "tmin_score", "tmax_score" and "reference_temporal_iou" ((k,) float32).

    Args:
        top_k: number of proposals to keep (the files are sorted by score).
        pgm_proposals_dir: folder of `<video_name><proposal_ext>` proposal CSVs.
        pgm_features_dir: folder of `<video_name><feature_ext>` BSP feature arrays.
        proposal_ext: only ".csv".
        feature_ext: only ".npy".
    """

    def __init__(
        self,
        top_k: int,
        pgm_proposals_dir: str,
        pgm_features_dir: str,
        proposal_ext: str = ".csv",
        feature_ext: str = ".npy",
    ) -> None:
        if proposal_ext not in (".csv",):
            raise NotImplementedError(f"proposal_ext {proposal_ext!r}: only '.csv' is supported")
        if feature_ext not in (".npy",):
            raise NotImplementedError(f"feature_ext {feature_ext!r}: only '.npy' is supported")
        self.top_k = top_k
        self.pgm_proposals_dir = pgm_proposals_dir
        self.pgm_features_dir = pgm_features_dir
        self.proposal_ext = proposal_ext
        self.feature_ext = feature_ext

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        video_name = results["video_name"]
        proposal_path = os.path.join(self.pgm_proposals_dir, video_name + self.proposal_ext)
        proposals = _load_csv(proposal_path, "PGM proposals")[: self.top_k]
        if proposals.size == 0:
            proposals = np.zeros((0, 6), dtype=np.float32)
        if proposals.shape[1] < 6:
            raise InputError(
                f"{proposal_path}: expected at least 6 columns "
                f"(xmin, xmax, xmin_score, xmax_score, score, match_iou), got {proposals.shape[1]}"
            )
        feature_path = os.path.join(self.pgm_features_dir, video_name + self.feature_ext)
        bsp_feature = _load_npy(feature_path, "BSP features").astype(np.float32)[: self.top_k]
        if len(bsp_feature) != len(proposals):
            raise InputError(
                f"{feature_path}: {len(bsp_feature)} BSP feature rows for the {len(proposals)} proposals "
                f"(top_k {self.top_k}) of {proposal_path}; compute BSP features for at least top_k proposals"
            )

        results["bsp_feature"] = bsp_feature
        results["tmin"] = proposals[:, 0]
        results["tmax"] = proposals[:, 1]
        results["tmin_score"] = proposals[:, 2]
        results["tmax_score"] = proposals[:, 3]
        results["reference_temporal_iou"] = proposals[:, 5]
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(top_k={self.top_k}, pgm_proposals_dir={self.pgm_proposals_dir}, "
            f"pgm_features_dir={self.pgm_features_dir}, proposal_ext={self.proposal_ext}, "
            f"feature_ext={self.feature_ext})"
        )
