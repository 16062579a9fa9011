"""The `PIPELINES` and `DATASETS` registries: recipe `type` names -> pipeline step and dataset classes.

Filled here by explicit imports, so a name is known as soon as this module is imported, whatever
was imported before. Keys are the reference class names and equal the spec `type` literals of
`vidact.schemas.data` (a test checks it).
"""

from __future__ import annotations

from vidact.data.datasets import (
    ActivityNetDataset,
    RawframeDataset,
    RepeatDataset,
    SSNDataset,
    VideoDataset,
)
from vidact.data.decoding.steps import (
    DecordDecode,
    DecordInit,
    FrameSelector,
    OpenCVDecode,
    OpenCVInit,
    PyAVDecode,
    PyAVInit,
    RawFrameDecode,
)
from vidact.data.pipelines import (
    CenterCrop,
    Collect,
    DenseSampleFrames,
    Flip,
    FormatShape,
    Fuse,
    GenerateLocalizationLabels,
    ImageToTensor,
    LoadLocalizationFeature,
    LoadProposals,
    MultiGroupCrop,
    MultiScaleCrop,
    Normalize,
    RandomCrop,
    RandomResizedCrop,
    Resize,
    SampleFrames,
    SampleProposalFrames,
    TenCrop,
    ThreeCrop,
    ToDataContainer,
    ToTensor,
    Transpose,
    UntrimmedSampleFrames,
)
from vidact.registry import Registry

PIPELINES: Registry[type] = Registry("pipeline")
"""Pipeline step classes by reference name (`SampleFrames`, `PyAVDecode`, ...)."""

DATASETS: Registry[type] = Registry("dataset")
"""Dataset classes by reference name (`VideoDataset`, `RepeatDataset`, ...)."""

_PIPELINE_STEPS: tuple[type, ...] = (
    # sampling
    SampleFrames,
    DenseSampleFrames,
    UntrimmedSampleFrames,
    SampleProposalFrames,
    # loading and decoding
    PyAVInit,
    PyAVDecode,
    OpenCVInit,
    OpenCVDecode,
    DecordInit,
    DecordDecode,
    RawFrameDecode,
    FrameSelector,
    # augmentations
    Resize,
    RandomCrop,
    RandomResizedCrop,
    MultiScaleCrop,
    CenterCrop,
    ThreeCrop,
    TenCrop,
    MultiGroupCrop,
    Flip,
    Normalize,
    Fuse,
    # formatting
    FormatShape,
    Collect,
    ToTensor,
    ImageToTensor,
    Transpose,
    ToDataContainer,
    # localization
    LoadLocalizationFeature,
    GenerateLocalizationLabels,
    LoadProposals,
)

_DATASETS: tuple[type, ...] = (VideoDataset, RawframeDataset, ActivityNetDataset, SSNDataset, RepeatDataset)

for _cls in _PIPELINE_STEPS:
    PIPELINES.register()(_cls)
for _cls in _DATASETS:
    DATASETS.register()(_cls)
del _cls
