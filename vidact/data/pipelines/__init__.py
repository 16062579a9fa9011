"""Reference-named pipeline steps: each takes the results dict and returns it (or a new one).

Steps are plain callables built from typed arguments; the maths lives in
`vidact.data.functional`. Registration for recipes happens in the registry module.
"""

from vidact.data.pipelines.augmentations import Flip, Fuse, Normalize, Resize
from vidact.data.pipelines.compose import Compose
from vidact.data.pipelines.crops import (
    CenterCrop,
    MultiGroupCrop,
    MultiScaleCrop,
    RandomCrop,
    RandomResizedCrop,
    TenCrop,
    ThreeCrop,
)
from vidact.data.pipelines.formatting import (
    Collect,
    DataContainer,
    FormatShape,
    ImageToTensor,
    ToDataContainer,
    ToTensor,
    Transpose,
    to_tensor,
)
from vidact.data.pipelines.localization import GenerateLocalizationLabels, LoadLocalizationFeature, LoadProposals
from vidact.data.pipelines.sampling import (
    DenseSampleFrames,
    SampleFrames,
    SampleProposalFrames,
    UntrimmedSampleFrames,
)

__all__ = [
    "CenterCrop",
    "Collect",
    "Compose",
    "DataContainer",
    "DenseSampleFrames",
    "Flip",
    "FormatShape",
    "Fuse",
    "GenerateLocalizationLabels",
    "ImageToTensor",
    "LoadLocalizationFeature",
    "LoadProposals",
    "MultiGroupCrop",
    "MultiScaleCrop",
    "Normalize",
    "RandomCrop",
    "RandomResizedCrop",
    "Resize",
    "SampleFrames",
    "SampleProposalFrames",
    "TenCrop",
    "ThreeCrop",
    "ToDataContainer",
    "ToTensor",
    "Transpose",
    "UntrimmedSampleFrames",
    "to_tensor",
]
