"""Backbones: frame-level 2D ResNets (TSN, TSM) and clip-level 3D ResNets (I3D, R(2+1)D, SlowOnly,
SlowFast, CSN). Importing this package registers every class in `BACKBONES`."""

from vidact.models.backbones.resnet import ResNet
from vidact.models.backbones.resnet2plus1d import ResNet2Plus1d
from vidact.models.backbones.resnet3d import ResNet3d
from vidact.models.backbones.resnet3d_csn import ResNet3dCSN
from vidact.models.backbones.resnet3d_slowfast import ResNet3dPathway, ResNet3dSlowFast
from vidact.models.backbones.resnet3d_slowonly import ResNet3dSlowOnly
from vidact.models.backbones.resnet_tsm import ResNetTSM, TemporalShift, temporal_shift

__all__ = [
    "ResNet",
    "ResNet2Plus1d",
    "ResNet3d",
    "ResNet3dCSN",
    "ResNet3dPathway",
    "ResNet3dSlowFast",
    "ResNet3dSlowOnly",
    "ResNetTSM",
    "TemporalShift",
    "temporal_shift",
]
