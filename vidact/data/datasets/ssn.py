"""`SSNDataset`: SSN proposal lists -> ground truth, proposal pools and per-sample proposal draws.

The proposal list format (see `vidact.localization.load_localize_proposal_file`) gives, per video,
its ground-truth instances and its proposals with their best IoU and self-overlap. Proposals are
sorted into positive, incomplete and background pools by the `train_cfg.ssn.assigner` thresholds;
training samples draw from them as the `train_cfg.ssn.sampler` says.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vidact.arguments import check_int, check_int_pair
from vidact.data.datasets.base import BaseDataset, PipelineArg
from vidact.data.datasets.failures import FailureBudget
from vidact.errors import AnnotationError
from vidact.localization import load_localize_proposal_file
from vidact.localization.detections import (THUMOS14_IOU_RANGE, regress_and_nms, results_to_detections,
                                           thumos14_map)
from vidact.localization.iou import temporal_iou_matrix
from vidact.schemas.data import SSNTestCfgSpec, SSNTrainCfgSpec

log = logging.getLogger(__name__)

POSITIVE, INCOMPLETE, BACKGROUND = 0, 1, 2
"""Proposal type ids in `out_proposals` and "proposal_type"."""

SampledProposal = tuple[tuple[str, "SSNInstance"], int]
"""((video_id, instance), proposal type), the reference layout of "out_proposals"."""


class SSNInstance:
    """A ground-truth instance or proposal of SSN, frames [start_frame, end_frame).

    Args:
        start_frame: first frame.
        end_frame: end frame (exclusive), clipped to `num_video_frames`.
        num_video_frames: frames of the video.
        label: class label (1-based; 0 is background); None gives -1.
        best_iou: highest IoU with a ground-truth instance (1 for ground truth).
        overlap_self: fraction of the proposal's span inside a ground-truth instance.

    Attributes:
        coverage: unclipped length / num_video_frames.
        loc_reg, size_reg: regression targets, set for positives (None otherwise).
        regression_targets: [loc_reg, size_reg], or [0, 0] when unset.
    """

    def __init__(self, start_frame: int, end_frame: int, num_video_frames: int, label: int | None = None,
                 best_iou: float = 0, overlap_self: float = 0) -> None:
        self.start_frame = start_frame
        self.end_frame = min(end_frame, num_video_frames)
        self.num_video_frames = num_video_frames
        self.label = label if label is not None else -1
        self.coverage = (end_frame - start_frame) / num_video_frames
        self.best_iou = best_iou
        self.overlap_self = overlap_self
        self.loc_reg: float | None = None
        self.size_reg: float | None = None
        self.regression_targets: list[float] = [0.0, 0.0]

    def __repr__(self) -> str:
        return (f"SSNInstance({self.start_frame}, {self.end_frame}, {self.num_video_frames}, label={self.label}, "
                f"best_iou={self.best_iou}, overlap_self={self.overlap_self})")


def _frames(instances: Sequence[SSNInstance]) -> np.ndarray:
    """(N, 2) float64 [start_frame, end_frame] of `instances`."""
    return np.array([[p.start_frame, p.end_frame] for p in instances], dtype=np.float64).reshape(-1, 2)


def compute_regression_targets(proposals: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """SSN regression targets of proposals against their best-IoU ground truth.

    Args:
        proposals: (P, 2) [start_frame, end_frame).
        gts: (G, 2) [start_frame, end_frame), G >= 1.

    Returns:
        (P, 2) float64 [centre shift / proposal length, log(gt length / proposal length)].
    """
    best = gts[np.argmax(temporal_iou_matrix(proposals, gts), axis=1)]
    proposal_center = (proposals[:, 0] + proposals[:, 1] - 1) / 2
    gt_center = (best[:, 0] + best[:, 1] - 1) / 2
    proposal_size = proposals[:, 1] - proposals[:, 0]
    loc_reg = (gt_center - proposal_center) / proposal_size
    size_reg = np.log((best[:, 1] - best[:, 0]) / proposal_size)
    return np.stack([loc_reg, size_reg], axis=1)


class SSNDataset(BaseDataset):
    """Proposal frame dataset for Structured Segment Networks.

    Each `video_infos` entry has "frame_dir" (data_prefix / video id), "video_id", "total_frames",
    "gts" and "proposals" (lists of `SSNInstance`). A file whose name contains 'normalized_' is
    read from the same folder without it in its name (the de-normalised list, which must exist).

    Args:
        ann_file: path to the proposal list.
        pipeline: the data transforms, as specs, dicts or callables.
        train_cfg: `SSNTrainCfgSpec` or the equivalent dict (`ssn.assigner`, `ssn.sampler`).
        test_cfg: `SSNTestCfgSpec` or the equivalent dict (`ssn.sampler`, `ssn.evaluater`).
        data_prefix: folder holding one frame folder per video id.
        test_mode: build a test or validation dataset.
        filename_tmpl: frame file name template.
        start_index: number of the first frame file.
        modality: 'RGB' or 'Flow'.
        video_centric: draw a sample's proposals from its own video (else from the whole dataset).
        reg_normalize_constants: [[loc_mean, size_mean], [loc_std, size_std]]; None computes them
            from the positives.
        body_segments: segments in the course stage.
        aug_segments: segments in the starting and ending stages.
        aug_ratio: starting/ending stage length relative to the proposal (number or pair).
        clip_len: frames of each sampled clip.
        frame_interval: stride between sampled frames.
        filter_gt: drop videos without ground truth (always done in training).
        use_regression: apply the predicted location regression in `evaluate`.
        verbose: log the pool sizes and constants at info level.
        failure_budget: see `BaseDataset`.
    """

    def __init__(
        self,
        ann_file: str | os.PathLike,
        pipeline: PipelineArg,
        train_cfg: SSNTrainCfgSpec | Mapping[str, Any],
        test_cfg: SSNTestCfgSpec | Mapping[str, Any],
        data_prefix: str | os.PathLike | None,
        test_mode: bool = False,
        filename_tmpl: str = "img_{:05d}.jpg",
        start_index: int = 1,
        modality: str = "RGB",
        video_centric: bool = True,
        reg_normalize_constants: Sequence[Sequence[float]] | None = None,
        body_segments: int = 5,
        aug_segments: tuple[int, int] = (2, 2),
        aug_ratio: float | tuple[float, float] = (0.5, 0.5),
        clip_len: int = 1,
        frame_interval: int = 1,
        filter_gt: bool = True,
        use_regression: bool = True,
        verbose: bool = False,
        *,
        failure_budget: FailureBudget = None,
    ) -> None:
        self.filename_tmpl = filename_tmpl
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode, start_index=start_index,
                         modality=modality, failure_budget=failure_budget)
        self.train_cfg = SSNTrainCfgSpec.model_validate(train_cfg)  # a spec passes through unchanged
        self.test_cfg = SSNTestCfgSpec.model_validate(test_cfg)
        self.assigner = self.train_cfg.ssn.assigner
        self.sampler = self.train_cfg.ssn.sampler
        self.evaluater = self.test_cfg.ssn.evaluater
        self.verbose = verbose
        if filter_gt or not test_mode:
            num_videos = len(self.video_infos)
            self.video_infos = [info for info in self.video_infos if info["gts"]]
            log.info("%d out of %d videos are valid.", len(self.video_infos), num_videos)

        self.positive_pool: list[tuple[str, SSNInstance]] = []
        self.background_pool: list[tuple[str, SSNInstance]] = []
        self.incomplete_pool: list[tuple[str, SSNInstance]] = []
        self._video_pools: dict[str, tuple[list[SSNInstance], list[SSNInstance], list[SSNInstance]]] = {}
        self.construct_proposal_pools()
        if reg_normalize_constants is None:
            self.reg_norm_consts = self._compute_reg_normalize_constants()
        else:
            self.reg_norm_consts = np.asarray(reg_normalize_constants, dtype=np.float64)

        self.video_centric = video_centric
        self.body_segments = check_int(body_segments, "body_segments", minimum=1)
        self.aug_segments = check_int_pair(aug_segments, "aug_segments", minimum=0)
        self.aug_ratio = (aug_ratio, aug_ratio) if isinstance(aug_ratio, (int, float)) else tuple(aug_ratio)
        if len(self.aug_ratio) != 2 or not all(isinstance(r, (int, float)) for r in self.aug_ratio):
            raise TypeError(f"aug_ratio should be int, float or tuple of int and float, but got {aug_ratio!r}")
        total_ratio = self.sampler.positive_ratio + self.sampler.background_ratio + self.sampler.incomplete_ratio
        self.positive_per_video = int(self.sampler.num_per_video * self.sampler.positive_ratio / total_ratio)
        self.background_per_video = int(self.sampler.num_per_video * self.sampler.background_ratio / total_ratio)
        self.incomplete_per_video = self.sampler.num_per_video - self.positive_per_video - self.background_per_video
        self.test_interval = self.test_cfg.ssn.sampler.test_interval
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.filter_gt = filter_gt
        self.use_regression = use_regression
        (log.info if verbose else log.debug)(
            "SSNDataset: %s parsed: %d videos; %d positive, %d incomplete, %d background proposals; "
            "FG/BG/INCOMP per video %d/%d/%d; video-centric %s; regression constants %s",
            self.proposal_file, len(self.video_infos), len(self.positive_pool), len(self.incomplete_pool),
            len(self.background_pool), self.positive_per_video, self.background_per_video,
            self.incomplete_per_video, video_centric, self.reg_norm_consts.tolist())

    # -- annotations -------------------------------------------------------------------------

    def load_annotations(self) -> list[dict[str, Any]]:
        """Load annotation file to get video information."""
        self.proposal_file = self.ann_file
        folder, name = os.path.split(self.ann_file)
        if "normalized_" in name:
            self.proposal_file = os.path.join(folder, name.replace("normalized_", ""))
            if not os.path.exists(self.proposal_file):
                raise AnnotationError(f"{self.ann_file}: a normalized proposal list; its frame-index version "
                                      f"{self.proposal_file} must exist beside it",
                                      hint="convert it with `vidact dataset convert`")
        video_infos = []
        for video_id, num_frames, gt_boxes, proposal_boxes in load_localize_proposal_file(self.proposal_file):
            gts = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 3).astype(np.int64)
            gts = gts[(gts[:, 2] > gts[:, 1]) & (gts[:, 1] < num_frames)]
            props = np.asarray(proposal_boxes, dtype=np.float64).reshape(-1, 5)
            frames = props[:, 3:].astype(np.int64)
            keep = (frames[:, 1] > frames[:, 0]) & (frames[:, 0] < num_frames)
            props, frames = props[keep], frames[keep]
            video_infos.append(dict(
                frame_dir=self._join_prefix(video_id),
                video_id=video_id,
                total_frames=num_frames,
                gts=[SSNInstance(int(s), int(e), num_frames, label=int(c), best_iou=1.0) for c, s, e in gts],
                proposals=[SSNInstance(int(s), int(e), num_frames, label=int(c), best_iou=float(iou),
                                       overlap_self=float(overlap))
                           for (c, iou, overlap, _, _), (s, e) in zip(props, frames, strict=True)],
            ))
        return video_infos

    def get_positives(self, gts: Sequence[SSNInstance], proposals: Sequence[SSNInstance],
                      positive_threshold: float, with_gt: bool = True) -> list[SSNInstance]:
        """Proposals with best IoU above `positive_threshold` (plus the ground truth when `with_gt`),
        as copies carrying their regression targets against the best-IoU ground truth."""
        best_iou = np.array([p.best_iou for p in proposals], dtype=np.float64)
        positives = [proposals[i] for i in np.flatnonzero(best_iou > positive_threshold)]
        positives += list(gts) if with_gt else []
        if not positives or not gts:
            return [copy.copy(p) for p in positives]
        targets = compute_regression_targets(_frames(positives), _frames(gts))
        out = []
        for proposal, (loc_reg, size_reg) in zip(positives, targets.tolist(), strict=True):
            proposal = copy.copy(proposal)
            proposal.loc_reg, proposal.size_reg = loc_reg, size_reg
            proposal.regression_targets = [loc_reg, size_reg]
            out.append(proposal)
        return out

    def get_negatives(self, proposals: Sequence[SSNInstance], incomplete_iou_threshold: float,
                      background_iou_threshold: float, background_coverage_threshold: float = 0.01,
                      incomplete_overlap_threshold: float = 0.7) -> tuple[list[SSNInstance], list[SSNInstance]]:
        """(incompletes, backgrounds): proposals mostly inside a ground truth with low IoU, and
        proposals barely touching any ground truth that cover enough of the video."""
        stats = np.array([[p.best_iou, p.overlap_self, p.coverage] for p in proposals], np.float64).reshape(-1, 3)
        best_iou, overlap_self, coverage = stats.T
        incomplete = (best_iou < incomplete_iou_threshold) & (overlap_self > incomplete_overlap_threshold)
        background = ~incomplete & (best_iou < background_iou_threshold) & (coverage > background_coverage_threshold)
        return ([proposals[i] for i in np.flatnonzero(incomplete)],
                [proposals[i] for i in np.flatnonzero(background)])

    def construct_proposal_pools(self) -> None:
        """Construct the positive, incomplete and background proposal pools of the whole dataset."""
        for info in self.video_infos:
            video_id = info["video_id"]
            positives = self.get_positives(info["gts"], info["proposals"], self.assigner.positive_iou_threshold,
                                           self.sampler.add_gt_as_proposals)
            incompletes, backgrounds = self.get_negatives(
                info["proposals"], self.assigner.incomplete_iou_threshold, self.assigner.background_iou_threshold,
                self.assigner.background_coverage_threshold, self.assigner.incomplete_overlap_threshold)
            self._video_pools[video_id] = (positives, incompletes, backgrounds)
            self.positive_pool.extend((video_id, p) for p in positives)
            self.incomplete_pool.extend((video_id, p) for p in incompletes)
            self.background_pool.extend((video_id, p) for p in backgrounds)

    def get_all_gts(self) -> dict[int, dict[str, list[list[float]]]]:
        """Ground truth of the whole dataset: class index (label - 1) -> video id -> [[t_start, t_end], ...]
        in normalised [0, 1] time."""
        gts: dict[int, dict[str, list[list[float]]]] = {}
        for info in self.video_infos:
            for gt in info["gts"]:
                segment = [gt.start_frame / info["total_frames"], gt.end_frame / info["total_frames"]]
                gts.setdefault(gt.label - 1, {}).setdefault(info["video_id"], []).append(segment)
        return gts

    def _compute_reg_normalize_constants(self) -> np.ndarray:
        """[[loc_mean, size_mean], [loc_std, size_std]] of the positives' regression targets."""
        targets = [p.regression_targets for info in self.video_infos
                   for p in self.get_positives(info["gts"], info["proposals"],
                                               self.assigner.positive_iou_threshold, False)]
        if not targets:
            log.warning("%s: no positive proposals; regression targets are left unnormalised", self.ann_file)
            return np.array([[0.0, 0.0], [1.0, 1.0]])
        return np.array((np.mean(targets, axis=0), np.std(targets, axis=0)))

    # -- training samples --------------------------------------------------------------------

    def _video_centric_sampling(self, record: dict[str, Any]) -> list[SampledProposal]:
        """Draw this video's proposals of each type; a type the video lacks comes from the dataset pool."""
        video_id = record["video_id"]
        positives, incompletes, backgrounds = self._video_pools[video_id]
        out: list[SampledProposal] = []
        for kind, video_pool, wanted, dataset_pool in (
            (POSITIVE, positives, self.positive_per_video, self.positive_pool),
            (INCOMPLETE, incompletes, self.incomplete_per_video, self.incomplete_pool),
            (BACKGROUND, backgrounds, self.background_per_video, self.background_pool),
        ):
            if video_pool:
                idx = np.random.choice(len(video_pool), wanted, replace=len(video_pool) < wanted)
                out.extend(((video_id, video_pool[i]), kind) for i in idx)
            else:
                idx = np.random.choice(len(dataset_pool), wanted, replace=len(dataset_pool) < wanted)
                out.extend((dataset_pool[i], kind) for i in idx)
        return out

    def _random_sampling(self) -> list[SampledProposal]:
        """Draw each type's proposals from the whole dataset."""
        out: list[SampledProposal] = []
        for kind, pool, wanted in ((POSITIVE, self.positive_pool, self.positive_per_video),
                                   (INCOMPLETE, self.incomplete_pool, self.incomplete_per_video),
                                   (BACKGROUND, self.background_pool, self.background_per_video)):
            idx = np.random.choice(len(pool), wanted, replace=len(pool) < wanted)
            out.extend((pool[i], kind) for i in idx)
        return out

    def _get_stage(self, proposal: SSNInstance, num_frames: int) -> tuple[float, float, list[int]]:
        """(starting scale factor, ending scale factor, stage split) of a proposal: the share of each
        augmentation stage that fits in the video, and the last segment id of each stage."""
        ori_clip_len = self.clip_len * self.frame_interval
        duration = proposal.end_frame - proposal.start_frame
        if duration == 0:
            raise ValueError(f"zero-length proposal {proposal}")
        valid_starting = max(0, proposal.start_frame - int(duration * self.aug_ratio[0]))
        valid_ending = min(num_frames - ori_clip_len + 1, proposal.end_frame - 1 + int(duration * self.aug_ratio[1]))
        valid_starting_length = proposal.start_frame - valid_starting - ori_clip_len
        valid_ending_length = (valid_ending - proposal.end_frame + 1) - ori_clip_len
        starting_scale_factor = (valid_starting_length + ori_clip_len + 1) / (duration * self.aug_ratio[0])
        ending_scale_factor = (valid_ending_length + ori_clip_len + 1) / (duration * self.aug_ratio[1])
        aug_start, aug_end = self.aug_segments
        stage_split = [aug_start, aug_start + self.body_segments, aug_start + self.body_segments + aug_end]
        return starting_scale_factor, ending_scale_factor, stage_split

    def _sample_results(self, idx: int) -> dict[str, Any]:
        results = super()._sample_results(idx)
        results["filename_tmpl"] = self.filename_tmpl
        return results

    def prepare_train_frames(self, idx: int) -> Any:
        """Draw proposals for video `idx` and add their labels, types, scale factors and normalised
        regression targets ("proposal_labels", "proposal_type", "proposal_scale_factor", "reg_targets")."""
        results = self._sample_results(idx)
        if self.video_centric:
            results["out_proposals"] = self._video_centric_sampling(self.video_infos[idx])
        else:
            results["out_proposals"] = self._random_sampling()
        scale_factors, labels, types, reg_targets = [], [], [], []
        for (_, proposal), kind in results["out_proposals"]:
            starting, ending, _ = self._get_stage(proposal, proposal.num_video_frames)
            scale_factors.append([starting, ending])
            labels.append(proposal.label if kind != BACKGROUND else 0)
            types.append(kind)
            reg_targets.append(proposal.regression_targets)
        reg_targets = np.array(reg_targets, dtype=np.float64).reshape(-1, 2)
        positive = np.array(types) == POSITIVE
        mean, std = self.reg_norm_consts
        reg_targets[positive] = (reg_targets[positive] - mean) / std
        results["reg_targets"] = reg_targets.astype(np.float32)
        results["proposal_scale_factor"] = np.array(scale_factors, dtype=np.float32).reshape(-1, 2)
        results["proposal_labels"] = np.array(labels, dtype=np.int64)
        results["proposal_type"] = np.array(types, dtype=np.int64)
        return self.pipeline(results)

    def prepare_test_frames(self, idx: int) -> Any:
        """Add every proposal of video `idx` in normalised time, with its stage ticks and scale factors
        ("relative_proposal_list", "proposal_tick_list", "scale_factor_list", "reg_norm_consts")."""
        results = self._sample_results(idx)
        num_frames = results["total_frames"]
        ori_clip_len = self.clip_len * self.frame_interval
        num_sampled_frames = len(range(0, num_frames - ori_clip_len, self.test_interval))
        proposals = results["proposals"] or [SSNInstance(0, num_frames - 1, num_frames)]
        relative = _frames(proposals) / num_frames  # (P, 2)
        duration = relative[:, 1] - relative[:, 0]
        starting_duration, ending_duration = duration * self.aug_ratio[0], duration * self.aug_ratio[1]
        real_starting = np.maximum(0.0, relative[:, 0] - starting_duration)
        real_ending = np.minimum(1.0, relative[:, 1] + ending_duration)
        with np.errstate(divide="ignore", invalid="ignore"):  # aug_ratio 0 gives 0 / 0, as the reference
            scale_factors = np.stack([(relative[:, 0] - real_starting) / starting_duration,
                                      (real_ending - relative[:, 1]) / ending_duration], axis=1)
        ranges = np.stack([real_starting, relative[:, 0], relative[:, 1], real_ending], axis=1)
        results["relative_proposal_list"] = relative.astype(np.float32)
        results["scale_factor_list"] = scale_factors.astype(np.float32)
        results["proposal_tick_list"] = (ranges * num_sampled_frames).astype(np.int32)
        results["reg_norm_consts"] = self.reg_norm_consts
        return self.pipeline(results)

    # -- results -----------------------------------------------------------------------------

    def results_to_detections(self, results: Sequence[Mapping[str, Any]], top_k: int = 2000,
                              softmax_before_filter: bool = True, cls_top_k: int = 2,
                              **kwargs: Any) -> list[dict[str, np.ndarray]]:
        """Per class, video id -> (N, 5) [t_start, t_end, score, d_centre, d_log_duration] in [0, 1] time.

        The score is softmax(activity, without background) * exp(completeness). With `top_k` > 0 only
        the top_k (proposal, class) pairs of each video are kept, in ascending score order.
        `softmax_before_filter`, `cls_top_k` and other keyword arguments are accepted and unused, as
        in the reference.
        """
        video_ids = [info["video_id"] for info in self.video_infos]
        return results_to_detections(results, video_ids, top_k=top_k)

    def evaluate(self, results: list, metrics: str | Sequence[str] = "mAP", eval_dataset: str = "thumos14",
                 **kwargs: Any) -> dict[str, float]:
        """Detection mAP at tIoU 0.1, 0.2, ..., 0.9 (THUMOS'14), after regression and temporal NMS.

        Args:
            results: per video, in dataset order: "relative_proposal_list" (P, 2),
                "activity_scores" (P, K + 1), "completeness_scores" (P, K) and "bbox_preds"
                (P, K * 2) or None.
            metrics: only 'mAP'.
            eval_dataset: only 'thumos14'.

        The steps of `vidact detections-to-regression` (`results_to_detections` with the evaluater's
        `top_k`, regression, NMS at its `nms`) and of `vidact eval --dataset thumos14` (`thumos14_map`),
        so the numbers equal that chain's on the same outputs: the reference's when every class has
        ground truth; otherwise the means are over the classes that have some (the reference gives NaN).

        Returns:
            'mAP@0.10' ... 'mAP@0.90' and 'average_mAP' (their mean; an extension).
        """
        metrics = self._check_results(results, metrics, ("mAP",))
        if eval_dataset != "thumos14":
            raise ValueError(f"eval_dataset {eval_dataset!r} is not supported; supported: 'thumos14'")
        self._warn_substituted(log)
        detections = self.results_to_detections(results, **self.evaluater.model_dump())
        detections = regress_and_nms(detections, self.evaluater.nms, self.use_regression)
        gts = {c: {v: np.asarray(s, dtype=np.float64) for v, s in videos.items()}
               for c, videos in self.get_all_gts().items()}
        result = thumos14_map(detections, gts, THUMOS14_IOU_RANGE)
        for warning in result.warnings:
            log.warning("%s: %s", self.ann_file, warning)
        return result.metrics
