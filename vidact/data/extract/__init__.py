"""Frame (and optical flow) extraction from videos to JPEG folders, behind `vidact extract-frames`.

Resumable and parallel across videos; each output folder carries a manifest that says what it holds.

Layout. Video `ROOT/a/b.mp4` found under an input folder `ROOT` becomes `OUT/a/b/` holding
`img_00001.jpg`... (the `RawframeDataset` defaults: `filename_tmpl='img_{:05}.jpg'`,
`start_index=1`), with `--flow` also `x_00001.jpg`/`y_00001.jpg`... (flow of written frame k to
written frame k + 1, so n frames give n - 1 flow pairs, as denseflow writes), and
`manifest.json`. Videos given as files, or listed in a `.txt` file, land at `OUT/<file stem>`
(a list's relative paths keep their folders: `OUT/<path without extension>`).

Frames. Written frame k (1-based) is source frame `(k - 1) * every` (0-based) of the frames
`vidact.data.decoding.count_frames` counts, decoded in one sequential PyAV pass; with
`every=1` exactly `count_frames(video)` images are written, so annotation frame indices match.

Safety. A video is written into a hidden temp folder beside its target (`.b.partial-XXXX`) and
renamed to `b/` once its manifest is written (atomically, fsynced), so a folder with a manifest
is complete; leftovers of interrupted runs are removed when the video is redone. Frame files
are not fsynced one by one (too slow): a killed run leaves at worst temp folders, but after an
OS crash or power loss a renamed folder may hold frames that never reached the disk.

Manifest (`OUT/<rel>/manifest.json`, format `MANIFEST_FORMAT`): source path, size and the sha256
of the whole file; frames written and their template; flow pairs, algorithm and bound; source
frame count (with the policy's name), fps, duration and size; decoder library versions, codec
and threads; the settings. A re-run skips a video whose manifest exists, whose settings equal
the requested ones and whose source size is unchanged (the checksum is not recomputed).

Modules: `options` (what to write, results), `inputs` (videos and shards), `video` (one video),
`images` (frame -> BGR -> JPEG file, optionally on a helper thread), `flow`, `manifest` (skip
decisions, report), `run` (a whole run across worker processes, threads per worker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vidact.data.extract.inputs import discover_videos, parse_shard, shard_jobs
from vidact.data.extract.manifest import read_manifest, write_report
from vidact.data.extract.options import (
    FLOW_ALGOS,
    FLOW_TMPL,
    FRAME_COUNT_POLICY,
    IMG_TMPL,
    MANIFEST,
    MANIFEST_FORMAT,
    VIDEO_EXTENSIONS,
    ExtractOptions,
    ExtractSummary,
    Progress,
    Status,
    VideoJob,
    VideoResult,
)
from vidact.data.extract.run import _run, extract_frames  # noqa: F401  (_run: tests drive the pool)

if TYPE_CHECKING:
    from vidact.data.extract.flow import quantize_flow
    from vidact.data.extract.video import extract_video

__all__ = [
    "FLOW_ALGOS", "FLOW_TMPL", "FRAME_COUNT_POLICY", "IMG_TMPL", "MANIFEST", "MANIFEST_FORMAT",
    "VIDEO_EXTENSIONS", "ExtractOptions", "ExtractSummary", "Progress", "Status", "VideoJob",
    "VideoResult", "discover_videos", "extract_frames", "extract_video", "parse_shard",
    "quantize_flow", "read_manifest", "shard_jobs", "write_report",
]


def __getattr__(name: str) -> Any:
    # The per-video work needs OpenCV, NumPy and PyAV; a run's parent process (planning, handing
    # out videos) does not, so those modules load on first use.
    if name == "extract_video":
        from vidact.data.extract.video import extract_video

        return extract_video
    if name == "quantize_flow":
        from vidact.data.extract.flow import quantize_flow

        return quantize_flow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
