"""Specs for the `model` section: recognizers, localizers and their backbones, heads and losses.

Parameters and defaults follow MMAction2 0.x (`mmaction/models/...`). Reference asserts that only
need the spec itself (stage counts, strides per stage, required conv type) are checked here, so a
bad recipe fails at validation instead of deep inside model construction.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from vidact.schemas._types import (
    ComponentSpec,
    LocalPath,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Probability,
    Ratio,
    Spec,
    StageFlags,
)
from vidact.schemas.data import SSNTestCfgSpec, SSNTrainCfgSpec

# ---- losses ------------------------------------------------------------------------------------


class CrossEntropyLossSpec(ComponentSpec):
    """Softmax cross entropy (hard or soft labels)."""

    type: Literal["CrossEntropyLoss"]
    loss_weight: float = 1.0
    class_weight: tuple[float, ...] | None = None


class NLLLossSpec(ComponentSpec):
    """Negative log-likelihood on log-probabilities."""

    type: Literal["NLLLoss"]
    loss_weight: float = 1.0


class BCELossWithLogitsSpec(ComponentSpec):
    """Binary cross entropy on logits (multi-label recognition)."""

    type: Literal["BCELossWithLogits"]
    loss_weight: float = 1.0
    class_weight: tuple[float, ...] | None = None


class BinaryLogisticRegressionLossSpec(ComponentSpec):
    """TEM's balanced binary logistic loss."""

    type: Literal["BinaryLogisticRegressionLoss"]


class BMNLossSpec(ComponentSpec):
    """BMN's combined temporal-evaluation and proposal-evaluation loss."""

    type: Literal["BMNLoss"]


class SSNLossSpec(ComponentSpec):
    """SSN's activity, completeness and regression losses."""

    type: Literal["SSNLoss"]


ClsLoss = Annotated[
    Union[CrossEntropyLossSpec, NLLLossSpec, BCELossWithLogitsSpec], Field(discriminator="type")
]

# ---- layer settings ----------------------------------------------------------------------------


class ConvCfgSpec(ComponentSpec):
    """Convolution layer kind (`conv_cfg`)."""

    type: Literal["Conv", "Conv2d", "Conv3d", "Conv2plus1d"]


class NormCfgSpec(ComponentSpec):
    """Normalisation layer kind and settings (`norm_cfg`)."""

    type: Literal["BN", "BN2d", "BN3d", "SyncBN"]
    requires_grad: bool = True
    eps: PositiveFloat = 1e-5
    momentum: Probability = 0.1


class ActCfgSpec(ComponentSpec):
    """Activation layer kind (`act_cfg`)."""

    type: Literal["ReLU"]
    inplace: bool = False


class NonLocalCfgSpec(Spec):
    """Settings of the non-local blocks switched on by `non_local`."""

    sub_sample: bool = False
    use_scale: bool = True
    norm_cfg: NormCfgSpec | None = None
    mode: Literal["gaussian", "embedded_gaussian", "dot_product", "concatenation"] = "embedded_gaussian"
    reduction: PositiveInt = 2


class AvgConsensusSpec(ComponentSpec):
    """Average the per-segment scores along `dim`."""

    type: Literal["AvgConsensus"]
    dim: int = 1


StageCfg = Union[PositiveInt, tuple[PositiveInt, ...]]
"""One stage of an SSN pyramid: parts, or a tuple of pyramid levels (e.g. (1, 2))."""


class STPPTrainSpec(ComponentSpec):
    """SSN structured temporal pyramid pooling, training form."""

    type: Literal["STPPTrain"]
    standalong_classifier: bool = True
    stpp_cfg: tuple[PositiveInt, PositiveInt, PositiveInt] = (1, 1, 1)
    num_seg: tuple[PositiveInt, PositiveInt, PositiveInt] = (2, 5, 2)
    # The names MMAction's SSN configs use; when given they win over stpp_cfg / num_seg.
    stpp_stage: tuple[StageCfg, StageCfg, StageCfg] | None = None
    num_segments_list: tuple[PositiveInt, PositiveInt, PositiveInt] | None = None


class STPPTestSpec(ComponentSpec):
    """SSN structured temporal pyramid pooling, test form."""

    type: Literal["STPPTest"]
    num_classes: PositiveInt = 20
    use_regression: bool = True
    stpp_stage: tuple[StageCfg, StageCfg, StageCfg] = (1, 1, 1)


# ---- backbones ---------------------------------------------------------------------------------

_STAGE_BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
Depth = Literal[18, 34, 50, 101, 152]
Style = Literal["pytorch", "caffe"]


def _check_stages(num_stages: int, out_indices: tuple[int, ...], **per_stage: tuple) -> None:
    if out_indices and max(out_indices) >= num_stages:
        raise ValueError(f"out_indices {list(out_indices)} must be < num_stages ({num_stages})")
    for name, values in per_stage.items():
        if len(values) != num_stages:
            raise ValueError(f"{name} has {len(values)} entries, expected one per stage ({num_stages})")


def _check_block_flags(depth: int, num_stages: int, **flags: tuple) -> None:
    blocks = _STAGE_BLOCKS[depth][:num_stages]
    for name, values in flags.items():
        if len(values) < num_stages:
            raise ValueError(f"{name} has {len(values)} entries, expected one per stage ({num_stages})")
        for stage, (value, count) in enumerate(zip(values, blocks)):
            if isinstance(value, tuple) and len(value) != count:
                raise ValueError(
                    f"{name}[{stage}] has {len(value)} flags but stage {stage} of a depth-{depth} "
                    f"network has {count} blocks"
                )


class ResNetSpec(ComponentSpec):
    """2D ResNet (TSN backbone)."""

    type: Literal["ResNet"]
    depth: Depth
    pretrained: LocalPath | None = None
    torchvision_pretrain: bool = True
    in_channels: PositiveInt = 3
    num_stages: Annotated[int, Field(ge=1, le=4)] = 4
    out_indices: tuple[int, ...] = (3,)
    strides: tuple[PositiveInt, ...] = (1, 2, 2, 2)
    dilations: tuple[PositiveInt, ...] = (1, 1, 1, 1)
    style: Style = "pytorch"
    frozen_stages: int = -1
    conv_cfg: ConvCfgSpec = ConvCfgSpec(type="Conv")
    norm_cfg: NormCfgSpec = NormCfgSpec(type="BN2d", requires_grad=True)
    act_cfg: ActCfgSpec = ActCfgSpec(type="ReLU", inplace=True)
    norm_eval: bool = False
    partial_bn: bool = False
    with_cp: bool = False

    @model_validator(mode="after")
    def _stages(self) -> ResNetSpec:
        _check_stages(self.num_stages, self.out_indices, strides=self.strides, dilations=self.dilations)
        return self


class ResNetTSMSpec(ResNetSpec):
    """ResNet with temporal shift modules (TSM backbone)."""

    type: Literal["ResNetTSM"]
    num_segments: PositiveInt = 8
    is_shift: bool = True
    non_local: StageFlags = (0, 0, 0, 0)
    non_local_cfg: NonLocalCfgSpec | None = None
    shift_div: PositiveInt = 8
    shift_place: Literal["block", "blockres"] = "blockres"
    temporal_pool: bool = False


class _ResNet3dFields(ComponentSpec):
    depth: Depth
    pretrained: LocalPath | None
    pretrained2d: bool = True
    in_channels: PositiveInt = 3
    num_stages: Annotated[int, Field(ge=1, le=4)] = 4
    base_channels: PositiveInt = 64
    out_indices: tuple[int, ...] = (3,)
    spatial_strides: tuple[PositiveInt, ...] = (1, 2, 2, 2)
    temporal_strides: tuple[PositiveInt, ...] = (1, 1, 1, 1)
    dilations: tuple[PositiveInt, ...] = (1, 1, 1, 1)
    conv1_kernel: tuple[PositiveInt, PositiveInt, PositiveInt] = (5, 7, 7)
    conv1_stride_t: PositiveInt = 2
    pool1_stride_t: PositiveInt = 2
    with_pool2: bool = True
    style: Style = "pytorch"
    frozen_stages: int = -1
    inflate: StageFlags = (1, 1, 1, 1)
    inflate_style: Literal["3x1x1", "3x3x3"] = "3x1x1"
    conv_cfg: ConvCfgSpec = ConvCfgSpec(type="Conv3d")
    norm_cfg: NormCfgSpec = NormCfgSpec(type="BN3d", requires_grad=True)
    act_cfg: ActCfgSpec = ActCfgSpec(type="ReLU", inplace=True)
    norm_eval: bool = False
    with_cp: bool = False
    non_local: StageFlags = (0, 0, 0, 0)
    non_local_cfg: NonLocalCfgSpec | None = None
    zero_init_residual: bool = True

    @model_validator(mode="after")
    def _stages(self) -> _ResNet3dFields:
        _check_stages(
            self.num_stages,
            self.out_indices,
            spatial_strides=self.spatial_strides,
            temporal_strides=self.temporal_strides,
            dilations=self.dilations,
        )
        _check_block_flags(self.depth, self.num_stages, inflate=self.inflate, non_local=self.non_local)
        return self


class ResNet3dSpec(_ResNet3dFields):
    """Inflated 3D ResNet (I3D backbone)."""

    type: Literal["ResNet3d"]


class ResNet2Plus1dSpec(_ResNet3dFields):
    """ResNet with (2+1)D factorised convolutions (R(2+1)D backbone)."""

    type: Literal["ResNet2Plus1d"]

    @model_validator(mode="after")
    def _factorised(self) -> ResNet2Plus1dSpec:
        if self.pretrained2d:
            raise ValueError("ResNet2Plus1d cannot inflate 2D weights: set pretrained2d: false")
        if self.conv_cfg.type != "Conv2plus1d":
            raise ValueError(f"ResNet2Plus1d needs conv_cfg: {{type: Conv2plus1d}}, got {self.conv_cfg.type}")
        return self


class _PathwayFields(_ResNet3dFields):
    lateral: bool = False
    speed_ratio: PositiveInt = 8
    channel_ratio: PositiveInt = 8
    fusion_kernel: PositiveInt = 5


class ResNet3dSlowOnlySpec(_PathwayFields):
    """The slow pathway of SlowFast used alone (SlowOnly backbone)."""

    type: Literal["ResNet3dSlowOnly"]
    conv1_kernel: tuple[PositiveInt, PositiveInt, PositiveInt] = (1, 7, 7)
    conv1_stride_t: PositiveInt = 1
    pool1_stride_t: PositiveInt = 1
    inflate: StageFlags = (0, 0, 1, 1)
    with_pool2: bool = False  # MMAction2 0.x SlowOnly keeps the time axis after stage 1

    @field_validator("lateral")
    @classmethod
    def _no_lateral(cls, value: bool) -> bool:
        if value:
            raise ValueError("ResNet3dSlowOnly has no fast pathway to connect: lateral must be false")
        return value


class ResNet3dPathwaySpec(_PathwayFields):
    """One pathway of a SlowFast backbone (`slow_pathway`, `fast_pathway`)."""

    type: Literal["resnet3d"]
    pretrained: LocalPath | None = None


class ResNet3dSlowFastSpec(ComponentSpec):
    """Two-pathway SlowFast backbone."""

    type: Literal["ResNet3dSlowFast"]
    pretrained: LocalPath | None
    resample_rate: PositiveInt = 8
    speed_ratio: PositiveInt = 8
    channel_ratio: PositiveInt = 8
    slow_pathway: ResNet3dPathwaySpec = ResNet3dPathwaySpec(
        type="resnet3d",
        depth=50,
        pretrained=None,
        lateral=True,
        conv1_kernel=(1, 7, 7),
        dilations=(1, 1, 1, 1),
        conv1_stride_t=1,
        pool1_stride_t=1,
        inflate=(0, 0, 1, 1),
    )
    fast_pathway: ResNet3dPathwaySpec = ResNet3dPathwaySpec(
        type="resnet3d",
        depth=50,
        pretrained=None,
        lateral=False,
        base_channels=8,
        conv1_kernel=(5, 7, 7),
        conv1_stride_t=1,
        pool1_stride_t=1,
    )


class ResNet3dCSNSpec(_ResNet3dFields):
    """Channel-separated 3D ResNet (ip-CSN / ir-CSN backbone)."""

    type: Literal["ResNet3dCSN"]
    depth: Literal[50, 101, 152]
    temporal_strides: tuple[PositiveInt, ...] = (1, 2, 2, 2)
    conv1_kernel: tuple[PositiveInt, PositiveInt, PositiveInt] = (3, 7, 7)
    conv1_stride_t: PositiveInt = 1
    pool1_stride_t: PositiveInt = 1
    norm_cfg: NormCfgSpec = NormCfgSpec(type="BN3d", requires_grad=True, eps=1e-3)
    inflate_style: Literal["3x1x1", "3x3x3"] = "3x3x3"
    bottleneck_mode: Literal["ip", "ir"] = "ir"
    bn_frozen: bool = False


Backbone2D = (ResNetSpec, ResNetTSMSpec)
Backbone = Annotated[
    Union[
        ResNetSpec,
        ResNetTSMSpec,
        ResNet3dSpec,
        ResNet2Plus1dSpec,
        ResNet3dSlowOnlySpec,
        ResNet3dSlowFastSpec,
        ResNet3dCSNSpec,
    ],
    Field(discriminator="type"),
]

# ---- heads -------------------------------------------------------------------------------------


class _ClsHeadFields(ComponentSpec):
    num_classes: PositiveInt
    in_channels: PositiveInt
    loss_cls: ClsLoss = CrossEntropyLossSpec(type="CrossEntropyLoss", loss_weight=1.0)
    multi_class: bool = False
    label_smooth_eps: Ratio = 0.0


class TSNHeadSpec(_ClsHeadFields):
    """Pool, dropout, fc, then average the segment scores."""

    type: Literal["TSNHead"]
    spatial_type: Literal["avg"] | None = "avg"
    consensus: AvgConsensusSpec | None = AvgConsensusSpec(type="AvgConsensus", dim=1)
    dropout_ratio: Ratio = 0.4
    init_std: PositiveFloat = 0.01


class TSMHeadSpec(_ClsHeadFields):
    """TSN head that knows the number of shifted segments."""

    type: Literal["TSMHead"]
    num_segments: PositiveInt = 8
    spatial_type: Literal["avg"] | None = "avg"
    consensus: AvgConsensusSpec | None = AvgConsensusSpec(type="AvgConsensus", dim=1)
    dropout_ratio: Ratio = 0.8
    init_std: PositiveFloat = 0.001
    is_shift: bool = True
    temporal_pool: bool = False


class I3DHeadSpec(_ClsHeadFields):
    """Spatio-temporal average pool, dropout, fc."""

    type: Literal["I3DHead"]
    spatial_type: Literal["avg"] | None = "avg"
    dropout_ratio: Ratio = 0.5
    init_std: PositiveFloat = 0.01


class SlowFastHeadSpec(_ClsHeadFields):
    """Pool both pathways, concatenate, dropout, fc."""

    type: Literal["SlowFastHead"]
    spatial_type: Literal["avg"] | None = "avg"
    dropout_ratio: Ratio = 0.8
    init_std: PositiveFloat = 0.01


class SSNHeadSpec(ComponentSpec):
    """SSN activity, completeness and regression classifiers."""

    type: Literal["SSNHead"]
    dropout_ratio: Ratio = 0.8
    in_channels: PositiveInt = 1024
    num_classes: PositiveInt = 20
    consensus: Annotated[Union[STPPTrainSpec, STPPTestSpec], Field(discriminator="type")] = STPPTrainSpec(
        type="STPPTrain", standalong_classifier=True, stpp_cfg=(1, 1, 1), num_seg=(2, 5, 2)
    )
    use_regression: bool = True
    init_std: PositiveFloat = 0.001


ClsHead = Annotated[
    Union[TSNHeadSpec, TSMHeadSpec, I3DHeadSpec, SlowFastHeadSpec], Field(discriminator="type")
]

# ---- recognizers -------------------------------------------------------------------------------


class RecognizerTrainCfgSpec(Spec):
    """Recognizer `train_cfg`."""

    aux_info: tuple[str, ...] = ()


class RecognizerTestCfgSpec(Spec):
    """Recognizer `test_cfg`: how clip scores are combined into a video score."""

    average_clips: Literal["score", "prob"] | None = None
    max_testing_views: PositiveInt | None = None
    feature_extraction: bool = False


class _RecognizerFields(ComponentSpec):
    backbone: Backbone
    cls_head: ClsHead
    train_cfg: RecognizerTrainCfgSpec | None = None
    test_cfg: RecognizerTestCfgSpec = RecognizerTestCfgSpec()

    @model_validator(mode="after")
    def _tsm_segments_agree(self) -> _RecognizerFields:
        backbone, head = self.backbone, self.cls_head
        if isinstance(backbone, ResNetTSMSpec) and isinstance(head, TSMHeadSpec):
            if backbone.num_segments != head.num_segments:
                raise ValueError(
                    f"cls_head.num_segments ({head.num_segments}) differs from "
                    f"backbone.num_segments ({backbone.num_segments})"
                )
        return self


class Recognizer2DSpec(_RecognizerFields):
    """Frame-level 2D CNN whose segment scores are fused by the head (TSN, TSM)."""

    type: Literal["Recognizer2D"]

    @field_validator("backbone")
    @classmethod
    def _two_d(cls, backbone: ComponentSpec) -> ComponentSpec:
        if not isinstance(backbone, Backbone2D):
            raise ValueError(f"Recognizer2D needs a 2D backbone (ResNet, ResNetTSM), got {backbone.type}")
        return backbone


class Recognizer3DSpec(_RecognizerFields):
    """Clip-level 3D CNN (I3D, R(2+1)D, SlowOnly, SlowFast, CSN)."""

    type: Literal["Recognizer3D"]

    @field_validator("backbone")
    @classmethod
    def _three_d(cls, backbone: ComponentSpec) -> ComponentSpec:
        if isinstance(backbone, Backbone2D):
            raise ValueError(f"Recognizer3D needs a 3D backbone, got {backbone.type}; use Recognizer2D")
        return backbone


# ---- localizers --------------------------------------------------------------------------------


class TEMSpec(ComponentSpec):
    """BSN temporal evaluation module: per-snippet action/start/end probabilities."""

    type: Literal["TEM"]
    temporal_dim: PositiveInt
    boundary_ratio: PositiveFloat
    tem_feat_dim: PositiveInt
    tem_hidden_dim: PositiveInt
    tem_match_threshold: Probability
    loss_cls: BinaryLogisticRegressionLossSpec = BinaryLogisticRegressionLossSpec(
        type="BinaryLogisticRegressionLoss"
    )
    loss_weight: float = 2
    output_dim: PositiveInt = 3
    conv1_ratio: float = 1
    conv2_ratio: float = 1
    conv3_ratio: float = 0.01


class PEMSpec(ComponentSpec):
    """BSN proposal evaluation module: confidence of each BSP-featured proposal."""

    type: Literal["PEM"]
    pem_feat_dim: PositiveInt
    pem_hidden_dim: PositiveInt
    pem_u_ratio_m: NonNegativeFloat
    pem_u_ratio_l: NonNegativeFloat
    pem_high_temporal_iou_threshold: Probability
    pem_low_temporal_iou_threshold: Probability
    soft_nms_alpha: PositiveFloat
    soft_nms_low_threshold: Probability
    soft_nms_high_threshold: Probability
    post_process_top_k: PositiveInt
    feature_extraction_interval: PositiveInt = 16
    fc1_ratio: float = 0.1
    fc2_ratio: float = 0.1
    output_dim: PositiveInt = 1


class BMNSpec(ComponentSpec):
    """Boundary-Matching Network: boundary probabilities and a dense confidence map."""

    type: Literal["BMN"]
    temporal_dim: PositiveInt
    boundary_ratio: PositiveFloat
    num_samples: PositiveInt
    num_samples_per_bin: PositiveInt
    feat_dim: PositiveInt
    soft_nms_alpha: PositiveFloat
    soft_nms_low_threshold: Probability
    soft_nms_high_threshold: Probability
    post_process_top_k: PositiveInt
    feature_extraction_interval: PositiveInt = 16
    loss_cls: BMNLossSpec = BMNLossSpec(type="BMNLoss")
    hidden_dim_1d: PositiveInt = 256
    hidden_dim_2d: PositiveInt = 128
    hidden_dim_3d: PositiveInt = 512


class SSNSpec(ComponentSpec):
    """Structured Segment Network: classify and regress proposals from sampled frames."""

    type: Literal["SSN"]
    backbone: Backbone
    cls_head: SSNHeadSpec
    in_channels: PositiveInt = 3
    spatial_type: Literal["avg", "max"] | None = "avg"
    dropout_ratio: Ratio = 0.5
    loss_cls: SSNLossSpec = SSNLossSpec(type="SSNLoss")
    train_cfg: SSNTrainCfgSpec | None = None
    test_cfg: SSNTestCfgSpec | None = None

    @field_validator("backbone")
    @classmethod
    def _two_d(cls, backbone: ComponentSpec) -> ComponentSpec:
        if not isinstance(backbone, Backbone2D):
            raise ValueError(f"SSN needs a 2D backbone (ResNet, ResNetTSM), got {backbone.type}")
        return backbone


Model = Annotated[
    Union[Recognizer2DSpec, Recognizer3DSpec, TEMSpec, PEMSpec, BMNSpec, SSNSpec],
    Field(discriminator="type"),
]
