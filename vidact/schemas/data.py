"""Specs for the `data` section: pipeline steps, datasets and dataloader settings.

Names, parameters and defaults follow the reference API (`mmaction.datasets`), so a pipeline copied
from an MMAction config validates as is.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from vidact.schemas._types import (
    ComponentSpec,
    NonNegativeInt,
    NumberOrPair,
    PositiveInt,
    Probability,
    Scale,
    Size,
    Spec,
)

IoBackend = Literal["disk"]
"""Only local files are read; the reference's remote file clients are not supported."""

# ---- sampling ----------------------------------------------------------------------------------


class SampleFramesSpec(ComponentSpec):
    """Sample `num_clips` clips of `clip_len` frames, `frame_interval` apart."""

    type: Literal["SampleFrames"]
    clip_len: PositiveInt
    frame_interval: PositiveInt = 1
    num_clips: PositiveInt = 1
    temporal_jitter: bool = False
    twice_sample: bool = False
    out_of_bound_opt: Literal["loop", "repeat_last"] = "loop"
    test_mode: bool = False
    start_index: int | None = None
    """Deprecated in the reference (moved to the dataset); accepted and ignored."""
    keep_tail_frames: bool = False
    """Later 0.x: spread training clip offsets over float segments so the tail is sampled too."""


class DenseSampleFramesSpec(ComponentSpec):
    """Sample clips densely from a `sample_range` window."""

    type: Literal["DenseSampleFrames"]
    clip_len: PositiveInt
    frame_interval: PositiveInt = 1
    num_clips: PositiveInt = 1
    sample_range: PositiveInt = 64
    num_sample_positions: PositiveInt = 10
    temporal_jitter: bool = False
    out_of_bound_opt: Literal["loop", "repeat_last"] = "loop"
    test_mode: bool = False


class UntrimmedSampleFramesSpec(ComponentSpec):
    """Sample frames every `frame_interval` over a whole untrimmed video."""

    type: Literal["UntrimmedSampleFrames"]
    clip_len: PositiveInt = 1
    frame_interval: PositiveInt = 16
    start_index: int = 1


class SampleProposalFramesSpec(ComponentSpec):
    """Sample frames from the starting, course and ending stages of SSN proposals."""

    type: Literal["SampleProposalFrames"]
    clip_len: PositiveInt
    body_segments: PositiveInt
    aug_segments: tuple[PositiveInt, PositiveInt]
    aug_ratio: NumberOrPair
    frame_interval: PositiveInt = 1
    test_interval: PositiveInt = 6
    temporal_jitter: bool = False
    mode: Literal["train", "val", "test"] = "train"


# ---- loading and decoding ----------------------------------------------------------------------


class PyAVInitSpec(ComponentSpec):
    """Open a video with PyAV."""

    type: Literal["PyAVInit"]
    io_backend: IoBackend = "disk"


class PyAVDecodeSpec(ComponentSpec):
    """Decode the sampled frames with PyAV."""

    type: Literal["PyAVDecode"]
    multi_thread: bool = False
    mode: Literal["accurate", "efficient"] = "accurate"


class OpenCVInitSpec(ComponentSpec):
    """Open a video with OpenCV."""

    type: Literal["OpenCVInit"]
    io_backend: IoBackend = "disk"


class OpenCVDecodeSpec(ComponentSpec):
    """Decode the sampled frames with OpenCV."""

    type: Literal["OpenCVDecode"]


class DecordInitSpec(ComponentSpec):
    """Open a video with decord (optional dependency)."""

    type: Literal["DecordInit"]
    io_backend: IoBackend = "disk"
    num_threads: PositiveInt = 1


class DecordDecodeSpec(ComponentSpec):
    """Decode the sampled frames with decord."""

    type: Literal["DecordDecode"]
    mode: Literal["accurate", "efficient"] = "accurate"


class RawFrameDecodeSpec(ComponentSpec):
    """Load the sampled frames from a folder of images."""

    type: Literal["RawFrameDecode"]
    io_backend: IoBackend = "disk"
    decoding_backend: Literal["cv2", "pillow", "turbojpeg"] = "cv2"


class FrameSelectorSpec(ComponentSpec):
    """Deprecated name of RawFrameDecode, kept so old recipes validate."""

    type: Literal["FrameSelector"]
    io_backend: IoBackend = "disk"
    decoding_backend: Literal["cv2", "pillow", "turbojpeg"] = "cv2"


# ---- augmentations -----------------------------------------------------------------------------


class ResizeSpec(ComponentSpec):
    """Resize by a factor, to fit within (w, h), or exactly to (w, h) when `keep_ratio` is false."""

    type: Literal["Resize"]
    scale: Scale
    keep_ratio: bool = True
    interpolation: Literal["nearest", "bilinear"] = "bilinear"
    lazy: bool = False

    @model_validator(mode="after")
    def _exact_size_needs_both_sides(self) -> ResizeSpec:
        if not self.keep_ratio and (isinstance(self.scale, float) or -1 in self.scale):
            raise ValueError("keep_ratio: false needs scale as [w, h] with both sides > 0")
        return self


class RandomCropSpec(ComponentSpec):
    """Square random crop of `size` pixels."""

    type: Literal["RandomCrop"]
    size: PositiveInt
    lazy: bool = False


class RandomResizedCropSpec(ComponentSpec):
    """Random crop with an area fraction and aspect ratio drawn from the given ranges."""

    type: Literal["RandomResizedCrop"]
    area_range: tuple[Probability, Probability] = (0.08, 1.0)
    aspect_ratio_range: tuple[float, float] = (3 / 4, 4 / 3)
    lazy: bool = False

    @model_validator(mode="after")
    def _ordered_ranges(self) -> RandomResizedCropSpec:
        for name in ("area_range", "aspect_ratio_range"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must be [low, high] with 0 < low <= high, got [{low}, {high}]")
        return self


class MultiScaleCropSpec(ComponentSpec):
    """Crop with a width and height scale drawn from `scales` (TSN/TSM augmentation)."""

    type: Literal["MultiScaleCrop"]
    input_size: Size
    scales: tuple[float, ...] = (1,)
    max_wh_scale_gap: int = 1
    random_crop: bool = False
    num_fixed_crops: Literal[5, 13] = 5
    lazy: bool = False


class CenterCropSpec(ComponentSpec):
    """Crop the centre region."""

    type: Literal["CenterCrop"]
    crop_size: Size
    lazy: bool = False


class ThreeCropSpec(ComponentSpec):
    """Three crops along the longer side (testing)."""

    type: Literal["ThreeCrop"]
    crop_size: Size


class TenCropSpec(ComponentSpec):
    """Four corners and centre, plus their flips (testing)."""

    type: Literal["TenCrop"]
    crop_size: Size


class MultiGroupCropSpec(ComponentSpec):
    """The same random crop repeated for `groups` groups."""

    type: Literal["MultiGroupCrop"]
    crop_size: Size
    groups: PositiveInt


class FlipSpec(ComponentSpec):
    """Flip with probability `flip_ratio`; relabel via `flip_label_map`, swap `left_kp`/`right_kp` joints."""

    type: Literal["Flip"]
    flip_ratio: Probability = 0.5
    direction: Literal["horizontal", "vertical"] = "horizontal"
    flip_label_map: dict[int, int] | None = None
    left_kp: tuple[NonNegativeInt, ...] | None = None
    right_kp: tuple[NonNegativeInt, ...] | None = None
    lazy: bool = False

    @model_validator(mode="after")
    def _paired_joints(self) -> FlipSpec:
        if (self.left_kp is None) != (self.right_kp is None):
            raise ValueError("left_kp and right_kp go together: give both or neither")
        if self.left_kp is not None and len(self.left_kp) != len(self.right_kp):
            raise ValueError(f"left_kp has {len(self.left_kp)} joints but right_kp has {len(self.right_kp)}")
        return self


class NormalizeSpec(ComponentSpec):
    """Subtract `mean` and divide by `std` per channel."""

    type: Literal["Normalize"]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    to_bgr: bool = False
    adjust_magnitude: bool = False

    @model_validator(mode="after")
    def _same_channels(self) -> NormalizeSpec:
        if len(self.mean) != len(self.std):
            raise ValueError(f"mean has {len(self.mean)} values but std has {len(self.std)}")
        if any(s <= 0 for s in self.std):
            raise ValueError("every std value must be > 0")
        return self


class FuseSpec(ComponentSpec):
    """Apply the pending lazy crop, resize and flip in one go."""

    type: Literal["Fuse"]


# ---- formatting --------------------------------------------------------------------------------


class FormatShapeSpec(ComponentSpec):
    """Reshape `imgs` to the layout the model expects."""

    type: Literal["FormatShape"]
    input_format: Literal["NCHW", "NCTHW", "NCHW_Flow", "NPTCHW"]


class CollectSpec(ComponentSpec):
    """Keep `keys` and gather `meta_keys` under `meta_name`."""

    type: Literal["Collect"]
    keys: tuple[str, ...]
    meta_keys: tuple[str, ...] = (
        "filename",
        "label",
        "original_shape",
        "img_shape",
        "pad_shape",
        "flip_direction",
        "img_norm_cfg",
    )
    meta_name: str = "img_meta"
    nested: bool = False


class ToTensorSpec(ComponentSpec):
    """Convert `keys` to tensors."""

    type: Literal["ToTensor"]
    keys: tuple[str, ...]


class ImageToTensorSpec(ComponentSpec):
    """Convert images under `keys` to (C, H, W) tensors."""

    type: Literal["ImageToTensor"]
    keys: tuple[str, ...]


class TransposeSpec(ComponentSpec):
    """Permute the axes of `keys` to `order`."""

    type: Literal["Transpose"]
    keys: tuple[str, ...]
    order: tuple[int, ...]


class DataContainerFieldSpec(Spec):
    """One entry of ToDataContainer `fields`."""

    key: str
    stack: bool = False  # the reference DataContainer's default
    cpu_only: bool = False


class ToDataContainerSpec(ComponentSpec):
    """Mark fields for custom collation (e.g. variable-length `gt_bbox`)."""

    type: Literal["ToDataContainer"]
    fields: tuple[DataContainerFieldSpec, ...]


# ---- localization ------------------------------------------------------------------------------


class LoadLocalizationFeatureSpec(ComponentSpec):
    """Load a video's snippet features for TEM/BMN."""

    type: Literal["LoadLocalizationFeature"]
    raw_feature_ext: str = ".csv"


class GenerateLocalizationLabelsSpec(ComponentSpec):
    """Turn a video's annotations into normalised `gt_bbox`."""

    type: Literal["GenerateLocalizationLabels"]


class LoadProposalsSpec(ComponentSpec):
    """Load PGM proposals and their BSP features for PEM."""

    type: Literal["LoadProposals"]
    top_k: PositiveInt
    pgm_proposals_dir: str
    pgm_features_dir: str
    proposal_ext: str = ".csv"
    feature_ext: str = ".npy"


PipelineStep = Annotated[
    Union[
        SampleFramesSpec,
        DenseSampleFramesSpec,
        UntrimmedSampleFramesSpec,
        SampleProposalFramesSpec,
        PyAVInitSpec,
        PyAVDecodeSpec,
        OpenCVInitSpec,
        OpenCVDecodeSpec,
        DecordInitSpec,
        DecordDecodeSpec,
        RawFrameDecodeSpec,
        FrameSelectorSpec,
        ResizeSpec,
        RandomCropSpec,
        RandomResizedCropSpec,
        MultiScaleCropSpec,
        CenterCropSpec,
        ThreeCropSpec,
        TenCropSpec,
        MultiGroupCropSpec,
        FlipSpec,
        NormalizeSpec,
        FuseSpec,
        FormatShapeSpec,
        CollectSpec,
        ToTensorSpec,
        ImageToTensorSpec,
        TransposeSpec,
        ToDataContainerSpec,
        LoadLocalizationFeatureSpec,
        GenerateLocalizationLabelsSpec,
        LoadProposalsSpec,
    ],
    Field(discriminator="type"),
]

# ---- SSN settings shared by the SSN dataset and the SSN localizer ------------------------------
# Defaults are the values of MMAction2's THUMOS'14 SSN config; the reference itself takes plain dicts.


class SSNAssignerSpec(Spec):
    """IoU thresholds that label proposals positive, incomplete or background."""

    positive_iou_threshold: Probability = 0.7
    background_iou_threshold: Probability = 0.01
    incomplete_iou_threshold: Probability = 0.3
    background_coverage_threshold: Probability = 0.02
    incomplete_overlap_threshold: Probability = 0.01


class SSNSamplerSpec(Spec):
    """How many proposals of each kind a training video contributes."""

    num_per_video: PositiveInt = 8
    positive_ratio: NonNegativeInt = 1
    background_ratio: NonNegativeInt = 1
    incomplete_ratio: NonNegativeInt = 6
    add_gt_as_proposals: bool = True


class SSNLossWeightSpec(Spec):
    """Weights of the completeness and regression losses."""

    comp_loss_weight: float = 0.1
    reg_loss_weight: float = 0.1


class SSNTrainSettingsSpec(Spec):
    """Training settings under `train_cfg.ssn`."""

    assigner: SSNAssignerSpec = SSNAssignerSpec()
    sampler: SSNSamplerSpec = SSNSamplerSpec()
    loss_weight: SSNLossWeightSpec = SSNLossWeightSpec()
    debug: bool = False


class SSNTrainCfgSpec(Spec):
    """SSN `train_cfg`."""

    ssn: SSNTrainSettingsSpec = SSNTrainSettingsSpec()


class SSNTestSamplerSpec(Spec):
    """Frame sampling at test time."""

    test_interval: PositiveInt = 6
    batch_size: PositiveInt = 16


class SSNEvaluaterSpec(Spec):
    """Detection post-processing at test time (the reference spells it `evaluater`)."""

    top_k: int = 2000
    """Detections kept per video before NMS; 0 or less keeps every one (as the reference)."""
    nms: Probability = 0.2
    softmax_before_filter: bool = True
    cls_score_dict: str | None = None
    cls_top_k: PositiveInt = 2


class SSNTestSettingsSpec(Spec):
    """Test settings under `test_cfg.ssn`."""

    sampler: SSNTestSamplerSpec = SSNTestSamplerSpec()
    evaluater: SSNEvaluaterSpec = SSNEvaluaterSpec()


class SSNTestCfgSpec(Spec):
    """SSN `test_cfg`."""

    ssn: SSNTestSettingsSpec = SSNTestSettingsSpec()


# ---- datasets ----------------------------------------------------------------------------------

# Samples that may fail to decode before it is an error: a count, a fraction of the dataset, or
# null for the default (the larger of 10 samples and 5%).
FailureBudget = Annotated[int, Field(ge=0)] | Annotated[float, Field(ge=0.0, le=1.0)] | None


class _BaseDatasetSpec(ComponentSpec):
    ann_file: str
    pipeline: tuple[PipelineStep, ...]
    data_prefix: str | None = None
    test_mode: bool = False
    multi_class: bool = False
    num_classes: PositiveInt | None = None
    start_index: int = 1
    modality: Literal["RGB", "Flow"] = "RGB"
    failure_budget: FailureBudget = None

    @model_validator(mode="after")
    def _multi_class_needs_num_classes(self) -> _BaseDatasetSpec:
        if self.multi_class and self.num_classes is None:
            raise ValueError("multi_class: true needs num_classes")
        return self


class VideoDatasetSpec(_BaseDatasetSpec):
    """Videos listed as `path label` lines; frames count from 0."""

    type: Literal["VideoDataset"]
    start_index: int = 0


class RawframeDatasetSpec(_BaseDatasetSpec):
    """Frame folders listed as `dir total_frames label` lines."""

    type: Literal["RawframeDataset"]
    filename_tmpl: str = "img_{:05}.jpg"
    with_offset: bool = False


class ActivityNetDatasetSpec(ComponentSpec):
    """ActivityNet-style JSON annotations with per-video snippet features."""

    type: Literal["ActivityNetDataset"]
    ann_file: str
    pipeline: tuple[PipelineStep, ...]
    data_prefix: str | None = None
    test_mode: bool = False
    failure_budget: FailureBudget = None


class SSNDatasetSpec(ComponentSpec):
    """Proposal lists for Structured Segment Networks."""

    type: Literal["SSNDataset"]
    ann_file: str
    pipeline: tuple[PipelineStep, ...]
    train_cfg: SSNTrainCfgSpec
    test_cfg: SSNTestCfgSpec
    data_prefix: str
    test_mode: bool = False
    filename_tmpl: str = "img_{:05d}.jpg"
    start_index: int = 1
    modality: Literal["RGB", "Flow"] = "RGB"
    video_centric: bool = True
    reg_normalize_constants: tuple[tuple[float, float], tuple[float, float]] | None = None
    body_segments: PositiveInt = 5
    aug_segments: tuple[PositiveInt, PositiveInt] = (2, 2)
    aug_ratio: NumberOrPair = (0.5, 0.5)
    clip_len: PositiveInt = 1
    frame_interval: PositiveInt = 1
    filter_gt: bool = True
    use_regression: bool = True
    verbose: bool = False
    failure_budget: FailureBudget = None


LeafDataset = Annotated[
    Union[VideoDatasetSpec, RawframeDatasetSpec, ActivityNetDatasetSpec, SSNDatasetSpec],
    Field(discriminator="type"),
]


class RepeatDatasetSpec(ComponentSpec):
    """Repeat a dataset `times` times per epoch (cheaper epochs on small datasets)."""

    type: Literal["RepeatDataset"]
    dataset: LeafDataset
    times: PositiveInt


Dataset = Annotated[
    Union[VideoDatasetSpec, RawframeDatasetSpec, ActivityNetDatasetSpec, SSNDatasetSpec, RepeatDatasetSpec],
    Field(discriminator="type"),
]


class DataloaderOverrideSpec(Spec):
    """Per-split dataloader settings; unset values fall back to the `data` section's."""

    videos_per_gpu: PositiveInt | None = None
    workers_per_gpu: NonNegativeInt | None = None


class DataSpec(Spec):
    """The `data` section: batch settings and the train/val/test datasets."""

    videos_per_gpu: PositiveInt
    workers_per_gpu: NonNegativeInt
    val_dataloader: DataloaderOverrideSpec = DataloaderOverrideSpec()
    test_dataloader: DataloaderOverrideSpec = DataloaderOverrideSpec()
    train: Dataset | None = None
    val: Dataset | None = None
    test: Dataset | None = None

