"""Pure array maths behind the pipeline steps: frame indices, crop boxes, resampling, normalisation.

Everything here is deterministic. Random draws live in the steps (`vidact/data/pipelines/`), made
in the reference's order, so a seeded run picks the same frames and crops as MMAction2 0.x.

Layouts used throughout:
    frames:     (N, H, W, C) for RGB, (N, H, W) for flow (x, y, x, y, ... interleaved), any dtype
    frame_inds: (num_clips, clip_len) int64 before flattening; indices are 0-based here, the
                steps add the dataset's `start_index` last
    bbox:       [left, top, right, bottom] in pixels, right/bottom exclusive
    img_shape:  (h, w); sizes given as (w, h) are named `size_wh`
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}

INPUT_FORMATS = ("NCTHW", "NCHW", "NCHW_Flow", "NPTCHW")

# Element types OpenCV's array functions take.
_CV2_DTYPES = frozenset(np.dtype(t) for t in ("uint8", "int8", "uint16", "int16", "int32", "float32", "float64"))


def as_frames(imgs: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """Stack a list of (H, W[, C]) frames into one (N, H, W[, C]) array; arrays pass through.

    A list holding, in order, the rows of one array (what `list(array)` gives, as the decode
    steps hand out) comes back as that array, without copying the clip.
    """
    if isinstance(imgs, np.ndarray):
        return imgs
    if len(imgs) == 0:
        raise ValueError("no frames: 'imgs' is empty")
    rows_of = _rows_of(imgs)
    return rows_of if rows_of is not None else np.stack(imgs)


def _rows_of(imgs: Sequence[np.ndarray]) -> np.ndarray | None:
    """The array whose rows 0, 1, ... are exactly `imgs`, or None when there is none."""
    base = getattr(imgs[0], "base", None)
    if not isinstance(base, np.ndarray) or len(base) != len(imgs) or base.ndim == 0:
        return None
    start = base.__array_interface__["data"][0]
    for i, img in enumerate(imgs):
        if not (
            isinstance(img, np.ndarray)
            and img.base is base
            and img.__array_interface__["data"][0] == start + i * base.strides[0]
            and img.shape == base.shape[1:]
            and img.strides == base.strides[1:]
            and img.dtype == base.dtype
        ):
            return None
    return base


# --------------------------------------------------------------------------- frame indices


def clip_frame_indices(clip_offsets: np.ndarray, clip_len: int, frame_interval: int) -> np.ndarray:
    """Expand clip start offsets (num_clips,) into frame indices (num_clips, clip_len) int64."""
    steps = np.arange(clip_len, dtype=np.int64) * frame_interval
    return np.asarray(clip_offsets, dtype=np.int64)[:, None] + steps[None, :]


def wrap_frame_indices(frame_inds: np.ndarray, total_frames: int, out_of_bound_opt: str) -> np.ndarray:
    """Bring indices >= total_frames back into the video: (num_clips, clip_len) -> same shape.

    'loop' takes them modulo `total_frames`; 'repeat_last' replaces them, per clip, with the
    largest in-range index of that clip (0 when the whole clip is out of range), as the reference.
    """
    if out_of_bound_opt == "loop":
        return np.mod(frame_inds, total_frames)
    if out_of_bound_opt == "repeat_last":
        safe = frame_inds < total_frames
        last = np.max(np.where(safe, frame_inds, 0), axis=1, keepdims=True)
        return np.where(safe, frame_inds, last)
    raise ValueError(f"out_of_bound_opt must be 'loop' or 'repeat_last', got {out_of_bound_opt!r}")


def centered_clip_offsets(total_frames: int, ori_clip_len: int, num_clips: int, twice_sample: bool) -> np.ndarray:
    """Evenly spaced clip offsets, each shifted to the middle of its segment (test/val mode).

    The video minus one clip's span is cut into `num_clips` equal segments; offsets are the
    segment middles, floored. `twice_sample` appends the unshifted segment starts (floored), so
    2 * num_clips offsets come back. A video shorter than `ori_clip_len - 1` frames gives zeros.
    """
    if total_frames <= ori_clip_len - 1:
        return np.zeros(num_clips, dtype=np.int64)
    avg_interval = (total_frames - ori_clip_len + 1) / float(num_clips)
    base = np.arange(num_clips) * avg_interval
    offsets = (base + avg_interval / 2.0).astype(np.int64)
    if twice_sample:
        offsets = np.concatenate([offsets, base.astype(np.int64)])
    return offsets


def dense_clip_offsets(start_inds: np.ndarray, num_clips: int, interval: int, total_frames: int) -> np.ndarray:
    """Offsets of `num_clips` clips `interval` apart from each start: (S,) -> (S * num_clips,)."""
    base = np.arange(num_clips, dtype=np.int64) * interval
    return ((np.asarray(start_inds, dtype=np.int64)[:, None] + base[None, :]) % total_frames).ravel()


def untrimmed_frame_indices(total_frames: int, clip_len: int, frame_interval: int) -> np.ndarray:
    """Clips centred every `frame_interval` frames over a whole video -> (num_clips, clip_len).

    Centres are `frame_interval // 2, + frame_interval, ...`; indices are clipped to the video.
    """
    centres = np.arange(frame_interval // 2, total_frames, frame_interval, dtype=np.int64)
    rel = np.arange(-(clip_len // 2), clip_len - clip_len // 2, dtype=np.int64)
    return np.clip(centres[:, None] + rel[None, :], 0, total_frames - 1)


def proposal_stages(
    starts: np.ndarray,
    ends: np.ndarray,
    total_frames: int,
    ori_clip_len: int,
    aug_ratio: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Origins and valid lengths of the starting, course and ending stages of SSN proposals.

    Args:
        starts, ends: (P,) proposal frames, [start, end).
        aug_ratio: lengths of the starting/ending augmentation, relative to the proposal length.

    Returns:
        origins: (P, 3) int64, the frame each stage's offsets count from.
        valid_lengths: (P, 3) int64, the room for clip starts within each stage (may be negative).
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    duration = ends - starts
    if np.any(duration == 0):
        raise ValueError("proposal of zero length: start_frame == end_frame")
    # int() in the reference truncates towards zero; astype does the same.
    aug_before = (duration * float(aug_ratio[0])).astype(np.int64)
    aug_after = (duration * float(aug_ratio[1])).astype(np.int64)
    valid_starting = np.maximum(0, starts - aug_before)
    valid_ending = np.minimum(total_frames - ori_clip_len + 1, ends - 1 + aug_after)
    origins = np.stack([valid_starting, starts, ends], axis=1)
    valid_lengths = np.stack(
        [
            starts - valid_starting - ori_clip_len,
            duration - ori_clip_len,
            (valid_ending - ends + 1) - ori_clip_len,
        ],
        axis=1,
    )
    return origins, valid_lengths


def segment_layout(num_segments: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Stage id and position within the stage of each segment: e.g. (2, 5, 2) -> two (9,) arrays."""
    counts = np.asarray(num_segments, dtype=np.int64)
    stage = np.repeat(np.arange(len(counts)), counts)
    position = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return stage, position


def val_segment_offsets(valid_lengths: np.ndarray, num_segments: Sequence[int]) -> np.ndarray:
    """Middle-of-segment offsets within each stage: (P, K) lengths -> (P, sum(num_segments)).

    A stage whose valid length is shorter than its number of segments gives zeros.
    """
    stage, position = segment_layout(num_segments)
    lengths = np.asarray(valid_lengths)[:, stage]
    counts = np.asarray(num_segments, dtype=np.int64)[stage]
    avg = lengths / counts.astype(np.float64)
    offsets = (position * avg + avg / 2.0).astype(np.int64)
    return np.where(lengths >= counts, offsets, 0)


# --------------------------------------------------------------------------- geometry


def rescale_size(size_wh: tuple[int, int], scale: float | tuple[float, float]) -> tuple[int, int]:
    """New (w, h) for a keep-ratio resize, rounded half up as mmcv does.

    A number multiplies both sides. A tuple is a bounding box: the image grows or shrinks as much
    as fits with its long side <= max(scale) and short side <= min(scale); `inf` leaves a side free.
    """
    w, h = size_wh
    if isinstance(scale, tuple):
        factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    else:
        factor = float(scale)
    return int(w * factor + 0.5), int(h * factor + 0.5)


def resize_frames(frames: np.ndarray, size_wh: tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    """Resize every frame of (N, H, W[, C]) to (N, h, w[, C]) with OpenCV (one call per frame).

    Frames already of that size come back as they are: OpenCV would only copy them.
    """
    new_w, new_h = size_wh
    if frames.shape[1:3] == (new_h, new_w):
        return frames
    out = np.empty((len(frames), new_h, new_w) + frames.shape[3:], dtype=frames.dtype)
    _resize_into(frames, out, interpolation)
    return out


def _resize_into(frames: np.ndarray, out: np.ndarray, interpolation: str) -> None:
    """Resize each frame into `out` (possibly a flipped view); cv2 drops a channel of size 1."""
    code = INTERPOLATIONS[interpolation]
    size = (out.shape[2], out.shape[1])
    for i in range(len(frames)):
        out[i] = cv2.resize(frames[i], size, interpolation=code).reshape(out.shape[1:])


def crop_frames(frames: np.ndarray, bbox: Sequence[int]) -> np.ndarray:
    """Crop (N, H, W[, C]) to bbox [left, top, right, bottom]; returns a view."""
    left, top, right, bottom = (int(v) for v in bbox)
    return frames[:, top:bottom, left:right]


def crop_frames_at(
    frames: np.ndarray, offsets_xy: np.ndarray, crop_wh: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Crop all frames at each of K offsets and concatenate crop after crop: -> (K * N, h, w[, C]).

    Returns the crops and their bboxes, one row per output frame: (K * N, 4) int64.
    """
    crop_w, crop_h = crop_wh
    offsets_xy = np.asarray(offsets_xy, dtype=np.int64).reshape(-1, 2)
    crops = np.concatenate([frames[:, y : y + crop_h, x : x + crop_w] for x, y in offsets_xy])
    bboxes = np.concatenate([offsets_xy, offsets_xy + [crop_w, crop_h]], axis=1)
    return crops, np.repeat(bboxes, len(frames), axis=0)


def flip_frames(frames: np.ndarray, direction: str) -> np.ndarray:
    """Mirror (N, H, W[, C]) left-right ('horizontal') or top-bottom ('vertical'); a new array."""
    axis = {"horizontal": 2, "vertical": 1}[direction]
    if frames.ndim not in (3, 4) or frames.shape[3:4] > (4,) or frames.dtype not in _CV2_DTYPES:
        return np.ascontiguousarray(np.flip(frames, axis=axis))
    # cv2.flip moves whole pixels; NumPy copies a negative-stride view byte by byte (30x slower).
    code = 1 if direction == "horizontal" else 0
    out = np.empty(frames.shape, dtype=frames.dtype)
    for i in range(len(frames)):
        cv2.flip(frames[i], code, dst=out[i])
    return out


def invert_flow_x(frames: np.ndarray, inplace: bool = False) -> np.ndarray:
    """Negate the x-flow of interleaved (2T, H, W) flow images stored around 128: x -> 255 - x.

    A horizontal mirror reverses horizontal motion; y-flow images (odd indices) are unchanged.
    With `inplace` the given array is modified and returned, else a copy is.
    """
    out = frames if inplace else frames.copy()
    out[0::2] = 255 - out[0::2]
    return out


def compose_lazy_crop(lazy_bbox: np.ndarray, bbox: Sequence[float], img_shape: tuple[int, int]) -> np.ndarray:
    """Map a crop of the current (virtual) image back into original-image coordinates.

    Args:
        lazy_bbox: [left, top, right, bottom] of the current image within the original one.
        bbox: the new crop in current-image pixels.
        img_shape: (h, w) of the current image (before this crop).

    Returns:
        (4,) float32 bbox in original-image pixels.
    """
    img_h, img_w = img_shape
    lazy_left, lazy_top, lazy_right, lazy_bottom = (float(v) for v in lazy_bbox)
    sx = (lazy_right - lazy_left) / img_w
    sy = (lazy_bottom - lazy_top) / img_h
    left, top, right, bottom = bbox
    return np.array(
        [lazy_left + left * sx, lazy_top + top * sy, lazy_left + right * sx, lazy_top + bottom * sy],
        dtype=np.float32,
    )


def center_crop_bbox(img_shape: tuple[int, int], crop_wh: tuple[int, int]) -> np.ndarray:
    """Centred crop bbox (4,) int64; odd margins leave the extra pixel on the right/bottom."""
    img_h, img_w = img_shape
    crop_w, crop_h = crop_wh
    left = (img_w - crop_w) // 2
    top = (img_h - crop_h) // 2
    return np.array([left, top, left + crop_w, top + crop_h], dtype=np.int64)


def grid_crop_offsets(img_shape: tuple[int, int], crop_wh: tuple[int, int], num_fixed_crops: int = 5) -> np.ndarray:
    """Fixed (x, y) crop offsets on a 4x4 step grid: (5, 2) or (13, 2) int64.

    The 5 are upper left, upper right, lower left, lower right, centre; the 13 add centre left,
    centre right, lower centre, upper centre and the four quarter points, in the reference order.
    """
    img_h, img_w = img_shape
    crop_w, crop_h = crop_wh
    steps = np.array([(img_w - crop_w) // 4, (img_h - crop_h) // 4], dtype=np.int64)
    grid = [(0, 0), (4, 0), (0, 4), (4, 4), (2, 2)]
    if num_fixed_crops == 13:
        grid += [(0, 2), (4, 2), (2, 4), (2, 0), (1, 1), (3, 1), (1, 3), (3, 3)]
    elif num_fixed_crops != 5:
        raise ValueError(f"num_fixed_crops must be 5 or 13, got {num_fixed_crops}")
    return np.asarray(grid, dtype=np.int64) * steps


def three_crop_offsets(img_shape: tuple[int, int], crop_wh: tuple[int, int]) -> np.ndarray:
    """(x, y) offsets (3, 2) of left/right/middle (or top/bottom/middle) crops along the long side.

    The crop must span the image's full height or full width.
    """
    img_h, img_w = img_shape
    crop_w, crop_h = crop_wh
    if crop_h == img_h:
        step = (img_w - crop_w) // 2
        return np.array([[0, 0], [2 * step, 0], [step, 0]], dtype=np.int64)
    if crop_w == img_w:
        step = (img_h - crop_h) // 2
        return np.array([[0, 0], [0, 2 * step], [0, step]], dtype=np.int64)
    raise ValueError(f"ThreeCrop: crop (w, h)={crop_wh} must match the image height or width, image (h, w)={img_shape}")


def multi_scale_crop_sizes(base_size: int, scales: Sequence[float], max_wh_scale_gap: int) -> np.ndarray:
    """Candidate [w, h] crop sizes (K, 2): every pair of scale levels at most `max_wh_scale_gap` apart.

    Ordered with the height level outer and the width level inner, as the reference lists them.
    """
    sizes = np.array([int(base_size * s) for s in scales], dtype=np.int64)
    levels = np.arange(len(sizes))
    h_level, w_level = np.nonzero(np.abs(levels[:, None] - levels[None, :]) <= max_wh_scale_gap)
    return np.stack([sizes[w_level], sizes[h_level]], axis=1)


def normalize_rgb(frames: np.ndarray, mean: np.ndarray, std: np.ndarray, to_bgr: bool = False) -> np.ndarray:
    """(N, H, W, C) -> float32 `(x - mean) / std`; with `to_bgr` the channels are reversed first.

    The result is an (N, H, W, C) view of a channel-first (N, C, H, W) buffer. The arithmetic
    then runs along whole image planes, where NumPy vectorises, instead of a length-3 inner
    axis (10x faster), and `format_shape`'s NCHW transpose of it is contiguous, so free.
    """
    src = frames[..., ::-1] if to_bgr else frames
    channels_first = np.moveaxis(src, -1, -3)
    mean_cf = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
    scale_cf = (1.0 / np.asarray(std, dtype=np.float64)).astype(np.float32).reshape(-1, 1, 1)
    out = np.empty(channels_first.shape, dtype=np.float32)
    # Same float32 operations as (float32(x) - mean) * (1 / std), so the same bits.
    np.subtract(channels_first, mean_cf, out=out, dtype=np.float32)
    out *= scale_cf
    return np.moveaxis(out, -3, -1)


def normalize_flow(
    frames: np.ndarray, mean: np.ndarray, std: np.ndarray, scale_factor: np.ndarray | None = None
) -> np.ndarray:
    """Interleaved flow (2T, H, W) -> (T, H, W, 2) float32 `(x - mean) / std`, channel 0 = x.

    With `scale_factor` ([sx, sy], from Resize) the x and y components are multiplied by it, so
    flow magnitudes follow the image's rescaling.
    """
    if len(frames) % 2:
        raise ValueError(f"flow frames come in x/y pairs, got an odd count {len(frames)}")
    out = np.empty((len(frames) // 2,) + frames.shape[1:3] + (2,), dtype=np.float32)
    out[..., 0] = frames[0::2]
    out[..., 1] = frames[1::2]
    out -= np.asarray(mean, dtype=np.float32)
    out /= np.asarray(std, dtype=np.float32)
    if scale_factor is not None:
        out *= np.asarray(scale_factor, dtype=np.float32)
    return out


def fuse_crop_resize_flip(
    frames: np.ndarray,
    crop_bbox: np.ndarray,
    out_shape: tuple[int, int],
    interpolation: str = "bilinear",
    flip_direction: str | None = None,
) -> np.ndarray:
    """Crop (rounded bbox), resize to `out_shape` (h, w) and optionally flip, resampling once.

    Cropping is a view and flipping writes the resized frames into a mirrored view of the output,
    so the only pixel arithmetic is the single resize.
    """
    left, top, right, bottom = np.round(np.asarray(crop_bbox, dtype=np.float64)).astype(np.int64)
    cropped = frames[:, top:bottom, left:right]
    out_h, out_w = out_shape
    out = np.empty((len(frames), out_h, out_w) + frames.shape[3:], dtype=frames.dtype)
    target = out
    if flip_direction is not None:
        target = np.flip(out, axis={"horizontal": 2, "vertical": 1}[flip_direction])
    _resize_into(cropped, target, interpolation)
    return out


def format_shape(
    frames: np.ndarray, input_format: str, num_clips: int, clip_len: int, num_proposals: int | None = None
) -> np.ndarray:
    """Rearrange (M, H, W, C) frames, M = crops x clips x clip_len, into the network's layout.

    NCTHW: (crops * clips, C, clip_len, H, W); NCHW: (M, C, H, W); NCHW_Flow: (crops * clips,
    clip_len * C, H, W); NPTCHW: (num_proposals, clips * clip_len, C, H, W). Returns C-contiguous.
    """
    if input_format == "NCTHW":
        x = frames.reshape((-1, num_clips, clip_len) + frames.shape[1:])
        x = x.transpose(0, 1, 5, 2, 3, 4)
        x = x.reshape((-1,) + x.shape[2:])
    elif input_format == "NCHW":
        x = frames.transpose(0, 3, 1, 2)
    elif input_format == "NCHW_Flow":
        x = frames.reshape((-1, num_clips, clip_len) + frames.shape[1:])
        x = x.transpose(0, 1, 2, 5, 3, 4)
        x = x.reshape((-1, x.shape[2] * x.shape[3]) + x.shape[4:])
    elif input_format == "NPTCHW":
        if num_proposals is None:
            raise ValueError("NPTCHW needs num_proposals")
        x = frames.reshape((num_proposals, num_clips * clip_len) + frames.shape[1:])
        x = x.transpose(0, 1, 4, 2, 3)
    else:
        raise ValueError(f"input_format must be one of {INPUT_FORMATS}, got {input_format!r}")
    return np.ascontiguousarray(x)


# --------------------------------------------------------------------------- localization


def normalize_segments(segments_sec: np.ndarray, corrected_second: float) -> np.ndarray:
    """Seconds (N, 2) -> [0, 1] positions (N, 2) float64 over a video `corrected_second` long."""
    segs = np.asarray(segments_sec, dtype=np.float64).reshape(-1, 2)
    return np.clip(segs / corrected_second, 0.0, 1.0)
