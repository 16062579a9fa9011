"""Synthetic datasets of real H.264 videos (moving shapes) with their annotation files.

Behind `vidact dataset synth`: direction-of-motion recognition data that only temporal models can
learn, and untrimmed localization data (ActivityNet JSON, per-video annotations, feature CSVs).

Modules: `shapes` (scenes, shape rendering, H.264 encoding), `recognition` (trimmed clips; their
design and defaults), `localization` (untrimmed videos, ground truth, features) and `_common` (the
result record, parameter checks and the seeded job runner both generators share).
"""

from __future__ import annotations

from vidact.data.synth_video._common import ProgressCallback as ProgressCallback  # for type hints
from vidact.data.synth_video._common import SynthResult
from vidact.data.synth_video.localization import localization_targets, synth_localization
from vidact.data.synth_video.recognition import synth_recognition
from vidact.data.synth_video.shapes import (
    DEFAULT_CLASSES,
    DIRECTIONS,
    SHAPES,
    encode_video,
    render_recognition_clip,
)

__all__ = ["DEFAULT_CLASSES", "DIRECTIONS", "SHAPES", "SynthResult", "encode_video", "localization_targets",
           "render_recognition_clip", "synth_localization", "synth_recognition"]
