"""Frame sampling steps: which frame indices of a video make up the clips of one sample.

Same parameters, result keys and random draws (global `np.random`, in the same order) as the
reference `SampleFrames`, `DenseSampleFrames`, `UntrimmedSampleFrames` and `SampleProposalFrames`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from vidact.arguments import check_int, check_int_pair
from vidact.data import functional as F
from vidact.errors import DecodeError

_START_INDEX_MOVED = (
    "'start_index' is no longer a SampleFrames argument: set it on the dataset "
    "(BaseDataset, VideoDataset, RawframeDataset), which passes it in results['start_index']"
)


def _total_frames(results: dict, step: str) -> int:
    if "total_frames" not in results:
        raise KeyError(f"{step}: results has no 'total_frames' (set by the dataset or a decoder Init step)")
    total_frames = int(results["total_frames"])
    if total_frames <= 0:
        where = results.get("filename") or results.get("frame_dir") or "video"
        raise DecodeError(f"{where}: no frames to sample (total_frames={total_frames})")
    return total_frames


def _start_index(results: dict, step: str) -> int:
    if "start_index" not in results:
        raise KeyError(f"{step}: results has no 'start_index' (the dataset sets it: 0 for videos, 1 for frames)")
    return int(results["start_index"])


class SampleFrames:
    """Sample `num_clips` clips of `clip_len` frames, `frame_interval` apart, from a video.

    Required keys are "total_frames", "start_index"; added or modified keys are "frame_inds"
    (int64, (num_clips * clip_len,)), "clip_len", "frame_interval" and "num_clips".

    Training splits the video (minus one clip's span) into `num_clips` equal segments and starts
    one clip at a random offset in each; test mode starts each at its segment's middle.

    Args:
        clip_len: frames of each sampled clip.
        frame_interval: temporal stride between adjacent sampled frames.
        num_clips: number of clips.
        temporal_jitter: add a random 0..frame_interval-1 shift to every frame index.
        twice_sample: in test mode also sample the unshifted segment starts (TSM testing), giving
            2 * num_clips clips while "num_clips" stays `num_clips`, as the reference.
        out_of_bound_opt: 'loop' (modulo the video length) or 'repeat_last' (the clip's last
            in-range frame) for indices past the end.
        test_mode: deterministic test/val sampling.
        start_index: deprecated, ignored with a warning; the dataset provides it.
        keep_tail_frames: (later 0.x) in training, split the span into `num_clips` float-length
            segments and draw each offset uniformly inside its segment, so the last frames of
            the video can be sampled too; test sampling is unchanged.
    """

    def __init__(
        self,
        clip_len: int,
        frame_interval: int = 1,
        num_clips: int = 1,
        temporal_jitter: bool = False,
        twice_sample: bool = False,
        out_of_bound_opt: str = "loop",
        test_mode: bool = False,
        start_index: int | None = None,
        keep_tail_frames: bool = False,
    ) -> None:
        if out_of_bound_opt not in ("loop", "repeat_last"):
            raise ValueError(f"out_of_bound_opt must be 'loop' or 'repeat_last', got {out_of_bound_opt!r}")
        self.clip_len = check_int(clip_len, "clip_len", minimum=1)
        self.frame_interval = check_int(frame_interval, "frame_interval", minimum=1)
        self.num_clips = check_int(num_clips, "num_clips", minimum=1)
        self.temporal_jitter = temporal_jitter
        self.twice_sample = twice_sample
        self.out_of_bound_opt = out_of_bound_opt
        self.test_mode = test_mode
        self.keep_tail_frames = keep_tail_frames
        if start_index is not None:
            warnings.warn(_START_INDEX_MOVED, FutureWarning, stacklevel=2)

    def _get_train_clips(self, num_frames: int) -> np.ndarray:
        """Random clip offsets (num_clips,): one per equal segment, or sorted uniform draws when
        segments would be empty, or evenly rounded / all-zero offsets for very short videos."""
        ori_clip_len = self.clip_len * self.frame_interval
        if self.keep_tail_frames:
            return self._get_tail_keeping_clips(num_frames, ori_clip_len)
        avg_interval = (num_frames - ori_clip_len + 1) // self.num_clips
        if avg_interval > 0:
            base = np.arange(self.num_clips) * avg_interval
            return base + np.random.randint(avg_interval, size=self.num_clips)
        if num_frames > max(self.num_clips, ori_clip_len):
            return np.sort(np.random.randint(num_frames - ori_clip_len + 1, size=self.num_clips))
        if avg_interval == 0:
            ratio = (num_frames - ori_clip_len + 1.0) / self.num_clips
            return np.around(np.arange(self.num_clips) * ratio).astype(np.int64)
        return np.zeros(self.num_clips, dtype=np.int64)

    def _get_tail_keeping_clips(self, num_frames: int, ori_clip_len: int) -> np.ndarray:
        """`keep_tail_frames` offsets: floor(i * avg + U(0, avg)) with avg = (num_frames - span + 1)
        / num_clips (one np.random.uniform call, as the reference); all zero when the clip span
        exceeds the video."""
        if num_frames <= ori_clip_len - 1:
            return np.zeros(self.num_clips, dtype=np.int64)
        avg_interval = (num_frames - ori_clip_len + 1) / float(self.num_clips)
        base = np.arange(self.num_clips) * avg_interval
        return (base + np.random.uniform(0, avg_interval, self.num_clips)).astype(np.int64)

    def _get_test_clips(self, num_frames: int) -> np.ndarray:
        """Deterministic clip offsets: segment middles (plus segment starts with twice_sample)."""
        ori_clip_len = self.clip_len * self.frame_interval
        return F.centered_clip_offsets(num_frames, ori_clip_len, self.num_clips, self.twice_sample)

    def _sample_clips(self, num_frames: int) -> np.ndarray:
        if self.test_mode:
            return self._get_test_clips(num_frames)
        return self._get_train_clips(num_frames)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        step = type(self).__name__
        total_frames = _total_frames(results, step)
        clip_offsets = self._sample_clips(total_frames)
        frame_inds = F.clip_frame_indices(clip_offsets, self.clip_len, self.frame_interval)
        if self.temporal_jitter:
            frame_inds = frame_inds + np.random.randint(self.frame_interval, size=frame_inds.shape)
        frame_inds = F.wrap_frame_indices(frame_inds, total_frames, self.out_of_bound_opt)
        results["frame_inds"] = frame_inds.ravel() + _start_index(results, step)
        results["clip_len"] = self.clip_len
        results["frame_interval"] = self.frame_interval
        results["num_clips"] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(clip_len={self.clip_len}, frame_interval={self.frame_interval}, "
            f"num_clips={self.num_clips}, temporal_jitter={self.temporal_jitter}, "
            f"twice_sample={self.twice_sample}, out_of_bound_opt={self.out_of_bound_opt}, "
            f"test_mode={self.test_mode}, keep_tail_frames={self.keep_tail_frames})"
        )


class DenseSampleFrames(SampleFrames):
    """Sample clips densely from a window of `sample_range` frames (I3D/SlowFast style).

    Required keys are "total_frames", "start_index"; added or modified keys are "frame_inds",
    "clip_len", "frame_interval" and "num_clips".

    Clips start `sample_range // num_clips` frames apart from one window start: random in training,
    `num_sample_positions` evenly spaced starts in test mode (so num_sample_positions * num_clips
    clips, while "num_clips" stays `num_clips`, as the reference).

    Args:
        clip_len, frame_interval, num_clips, temporal_jitter, out_of_bound_opt, test_mode: as in
            `SampleFrames`.
        sample_range: length of the window the clips are spread over.
        num_sample_positions: number of window starts in test mode.
    """

    def __init__(
        self,
        clip_len: int,
        frame_interval: int = 1,
        num_clips: int = 1,
        sample_range: int = 64,
        num_sample_positions: int = 10,
        temporal_jitter: bool = False,
        out_of_bound_opt: str = "loop",
        test_mode: bool = False,
    ) -> None:
        super().__init__(
            clip_len,
            frame_interval,
            num_clips,
            temporal_jitter,
            out_of_bound_opt=out_of_bound_opt,
            test_mode=test_mode,
        )
        self.sample_range = check_int(sample_range, "sample_range", minimum=1)
        self.num_sample_positions = check_int(num_sample_positions, "num_sample_positions", minimum=1)

    def _get_train_clips(self, num_frames: int) -> np.ndarray:
        sample_position = max(1, 1 + num_frames - self.sample_range)
        interval = self.sample_range // self.num_clips
        # As the reference: the last window start (sample_position - 1) is never drawn.
        start_idx = 0 if sample_position == 1 else np.random.randint(0, sample_position - 1)
        return F.dense_clip_offsets(np.array([start_idx]), self.num_clips, interval, num_frames)

    def _get_test_clips(self, num_frames: int) -> np.ndarray:
        sample_position = max(1, 1 + num_frames - self.sample_range)
        interval = self.sample_range // self.num_clips
        starts = np.linspace(0, sample_position - 1, num=self.num_sample_positions, dtype=int)
        return F.dense_clip_offsets(starts, self.num_clips, interval, num_frames)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(clip_len={self.clip_len}, frame_interval={self.frame_interval}, "
            f"num_clips={self.num_clips}, sample_range={self.sample_range}, "
            f"num_sample_positions={self.num_sample_positions}, "
            f"temporal_jitter={self.temporal_jitter}, out_of_bound_opt={self.out_of_bound_opt}, "
            f"test_mode={self.test_mode})"
        )


class UntrimmedSampleFrames:
    """Sample clips centred every `frame_interval` frames over a whole untrimmed video.

    Required key is "total_frames"; added or modified keys are "frame_inds", "clip_len",
    "frame_interval" and "num_clips" (= the number of centres, about total_frames / interval).

    Args:
        clip_len: frames per clip, centred on each sample point.
        frame_interval: distance between sample points.
        start_index: index of the first frame, added to every index (1 for `img_00001.jpg` frame
            folders, 0 for decoded videos); this step uses its own argument, as the reference.
    """

    def __init__(self, clip_len: int = 1, frame_interval: int = 16, start_index: int = 1) -> None:
        self.clip_len = check_int(clip_len, "clip_len", minimum=1)
        self.frame_interval = check_int(frame_interval, "frame_interval", minimum=1)
        self.start_index = check_int(start_index, "start_index")

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        total_frames = _total_frames(results, type(self).__name__)
        frame_inds = F.untrimmed_frame_indices(total_frames, self.clip_len, self.frame_interval)
        results["frame_inds"] = frame_inds.ravel() + self.start_index
        results["clip_len"] = self.clip_len
        results["frame_interval"] = self.frame_interval
        results["num_clips"] = frame_inds.shape[0]
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(clip_len={self.clip_len}, frame_interval={self.frame_interval}, "
            f"start_index={self.start_index})"
        )


def _proposal_frames(out_proposals: Any) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of each proposal, from a (P, 2) array, objects with `start_frame`/`end_frame`,
    or the reference SSN layout `((video_id, proposal), label)`."""
    if isinstance(out_proposals, np.ndarray):
        arr = out_proposals.reshape(-1, 2).astype(np.int64)
        return arr[:, 0], arr[:, 1]

    def unwrap(entry: Any) -> Any:
        return entry if hasattr(entry, "start_frame") else entry[0][1]

    props = [unwrap(p) for p in out_proposals]
    starts = np.array([p.start_frame for p in props], dtype=np.int64)
    ends = np.array([p.end_frame for p in props], dtype=np.int64)
    return starts, ends


class SampleProposalFrames(SampleFrames):
    """Sample clips from the starting, course and ending stages of SSN proposals.

    Required keys are "total_frames", "start_index" and, unless mode='test', "out_proposals";
    added or modified keys are "frame_inds", "clip_len", "frame_interval", "num_clips"
    (= aug_segments[0] + body_segments + aug_segments[1]) and, unless mode='test', "num_proposals".

    Each proposal [start, end) is extended before and after by `aug_ratio` times its length;
    clips are sampled per segment of each stage (random offset in training, segment middle in
    'val'). Test mode ignores proposals and samples a clip every `test_interval` frames.

    Args:
        clip_len: frames of each clip.
        body_segments: segments in the course (the proposal itself).
        aug_segments: segments in the starting and ending stages.
        aug_ratio: stage lengths relative to the proposal, one number or (before, after).
        frame_interval: stride between the frames of a clip.
        test_interval: stride between clip starts in test mode.
        temporal_jitter: add a random 0..frame_interval-1 shift to every frame index.
        mode: 'train', 'val' or 'test'.
    """

    def __init__(
        self,
        clip_len: int,
        body_segments: int,
        aug_segments: Sequence[int],
        aug_ratio: float | Sequence[float],
        frame_interval: int = 1,
        test_interval: int = 6,
        temporal_jitter: bool = False,
        mode: str = "train",
    ) -> None:
        super().__init__(clip_len, frame_interval=frame_interval, temporal_jitter=temporal_jitter)
        if isinstance(aug_ratio, (int, float)):
            aug_ratio = (aug_ratio, aug_ratio)
        aug_ratio = tuple(aug_ratio)
        if len(aug_ratio) != 2 or not all(isinstance(r, (int, float)) for r in aug_ratio):
            raise TypeError(f"aug_ratio must be a number or a pair of numbers, got {aug_ratio!r}")
        if mode not in ("train", "val", "test"):
            raise ValueError(f"mode must be 'train', 'val' or 'test', got {mode!r}")
        self.body_segments = check_int(body_segments, "body_segments", minimum=1)
        self.aug_segments = check_int_pair(aug_segments, "aug_segments", minimum=0)
        self.aug_ratio = aug_ratio
        self.mode = mode
        self.test_interval = test_interval

    @property
    def _stage_segments(self) -> tuple[int, int, int]:
        return (self.aug_segments[0], self.body_segments, self.aug_segments[1])

    def _get_proposal_offsets(self, starts: np.ndarray, ends: np.ndarray, num_frames: int) -> np.ndarray:
        """Clip offsets of all proposals, (P * num_clips,), proposal by proposal, stage by stage."""
        ori_clip_len = self.clip_len * self.frame_interval
        origins, lengths = F.proposal_stages(starts, ends, num_frames, ori_clip_len, self.aug_ratio)
        stage, position = F.segment_layout(self._stage_segments)
        if self.mode == "train":
            counts = np.asarray(self._stage_segments, dtype=np.int64)
            avg = ((lengths + 1) // counts)[:, stage]  # (P, S)
            drawn = avg > 0
            jitter = np.zeros_like(avg)
            # One draw per segment with room, in the reference's order (row-major over P, S).
            jitter[drawn] = np.random.randint(avg[drawn])
            offsets = np.where(drawn, position * avg + jitter, 0)
        else:
            offsets = F.val_segment_offsets(lengths, self._stage_segments)
        return (offsets + origins[:, stage]).ravel()

    def _get_test_clips(self, num_frames: int) -> np.ndarray:
        ori_clip_len = self.clip_len * self.frame_interval
        return np.arange(0, num_frames - ori_clip_len, self.test_interval, dtype=np.int64)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        step = type(self).__name__
        total_frames = _total_frames(results, step)
        if self.mode == "test":
            clip_offsets = self._get_test_clips(total_frames)
        else:
            if results.get("out_proposals") is None:
                raise KeyError(f"{step}: mode={self.mode!r} needs results['out_proposals']")
            starts, ends = _proposal_frames(results["out_proposals"])
            clip_offsets = self._get_proposal_offsets(starts, ends, total_frames)
            results["num_proposals"] = len(starts)
        frame_inds = F.clip_frame_indices(clip_offsets, self.clip_len, self.frame_interval)
        if self.temporal_jitter:
            frame_inds = frame_inds + np.random.randint(self.frame_interval, size=frame_inds.shape)
        results["frame_inds"] = np.mod(frame_inds, total_frames).ravel() + _start_index(results, step)
        results["clip_len"] = self.clip_len
        results["frame_interval"] = self.frame_interval
        results["num_clips"] = sum(self._stage_segments)
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(clip_len={self.clip_len}, body_segments={self.body_segments}, "
            f"aug_segments={self.aug_segments}, aug_ratio={self.aug_ratio}, "
            f"frame_interval={self.frame_interval}, test_interval={self.test_interval}, "
            f"temporal_jitter={self.temporal_jitter}, mode={self.mode})"
        )
