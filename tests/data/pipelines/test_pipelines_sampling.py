"""Frame sampling steps: hand-computed indices, and slow loop references compared on random inputs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidact.data.pipelines import DenseSampleFrames, SampleFrames, SampleProposalFrames, UntrimmedSampleFrames
from vidact.errors import DecodeError


def _results(total_frames: int, start_index: int = 0, **extra) -> dict:
    return dict(filename="v.mp4", total_frames=total_frames, start_index=start_index, **extra)


def _clips(*ranges) -> np.ndarray:
    return np.concatenate([np.asarray(r) for r in ranges])


# --------------------------------------------------------------------------- slow references
# Written from the reference's description, one clip and one frame at a time, drawing random
# numbers one by one in the reference's order.


def ref_sample_frames(total, clip_len, interval, num_clips, jitter, twice, opt, test_mode, start_index):
    ori = clip_len * interval
    if test_mode:
        if total > ori - 1:
            avg = (total - ori + 1) / float(num_clips)
            offsets = [k * avg + avg / 2.0 for k in range(num_clips)]
            offsets = [int(o) for o in offsets]
            if twice:
                offsets += [k * avg for k in range(num_clips)]
        else:
            offsets = [0] * num_clips
    else:
        avg = (total - ori + 1) // num_clips
        if avg > 0:
            offsets = [k * avg + np.random.randint(avg) for k in range(num_clips)]
        elif total > max(num_clips, ori):
            offsets = sorted(np.random.randint(total - ori + 1) for _ in range(num_clips))
        elif avg == 0:
            ratio = (total - ori + 1.0) / num_clips
            offsets = [float(np.around(k * ratio)) for k in range(num_clips)]
        else:
            offsets = [0] * num_clips
    clips = [[off + j * interval for j in range(clip_len)] for off in offsets]
    if jitter:
        for clip in clips:
            for j in range(clip_len):
                clip[j] += np.random.randint(interval)
    out = []
    for clip in clips:
        if opt == "loop":
            clip = [f % total for f in clip]
        else:
            last = max([f for f in clip if f < total] + [0])
            clip = [f if f < total else last for f in clip]
        out.extend(int(f) + start_index for f in clip)
    return np.array(out, dtype=np.int64)


def ref_proposal_offsets(proposals, total, clip_len, interval, body, aug, aug_ratio, mode):
    ori = clip_len * interval

    def train(length, n):
        avg = (length + 1) // n
        if avg > 0:
            return [k * avg + np.random.randint(avg) for k in range(n)]
        return [0] * n

    def val(length, n):
        if length >= n:
            avg = length / float(n)
            return [int(k * avg + avg / 2.0) for k in range(n)]
        return [0] * n

    pick = train if mode == "train" else val
    offsets = []
    for start, end in proposals:
        duration = end - start
        valid_starting = max(0, start - int(duration * aug_ratio[0]))
        valid_ending = min(total - ori + 1, end - 1 + int(duration * aug_ratio[1]))
        offsets += [o + valid_starting for o in pick(start - valid_starting - ori, aug[0])]
        offsets += [o + start for o in pick(duration - ori, body)]
        offsets += [o + end for o in pick((valid_ending - end + 1) - ori, aug[1])]
    return offsets


# --------------------------------------------------------------------------- SampleFrames


def test_test_mode_segment_middles():
    out = SampleFrames(clip_len=8, num_clips=4, test_mode=True)(_results(100))
    # avg = 93 / 4 = 23.25; middles 11.625, 34.875, 58.125, 81.375 -> floored
    expected = _clips(range(11, 19), range(34, 42), range(58, 66), range(81, 89))
    np.testing.assert_array_equal(out["frame_inds"], expected)
    assert out["frame_inds"].dtype == np.int64
    assert (out["clip_len"], out["frame_interval"], out["num_clips"]) == (8, 1, 4)


def test_twice_sample_appends_segment_starts():
    out = SampleFrames(clip_len=1, num_clips=4, twice_sample=True, test_mode=True)(_results(100))
    # avg = 100 / 4 = 25: middles 12, 37, 62, 87 then starts 0, 25, 50, 75
    np.testing.assert_array_equal(out["frame_inds"], [12, 37, 62, 87, 0, 25, 50, 75])
    assert out["num_clips"] == 4


def test_train_mode_random_offset_per_segment():
    np.random.seed(0)  # randint(23, size=4) -> [12, 15, 21, 0]
    out = SampleFrames(clip_len=8, num_clips=4)(_results(100))
    starts = [0 + 12, 23 + 15, 46 + 21, 69 + 0]
    np.testing.assert_array_equal(out["frame_inds"], _clips(*(range(s, s + 8) for s in starts)))


def test_train_mode_sorted_draws_when_segments_are_empty():
    np.random.seed(0)  # sort(randint(7, size=8)) -> [0, 1, 3, 3, 3, 3, 4, 5]
    out = SampleFrames(clip_len=4, num_clips=8)(_results(10))
    starts = [0, 1, 3, 3, 3, 3, 4, 5]
    np.testing.assert_array_equal(out["frame_inds"], _clips(*(range(s, s + 4) for s in starts)))


def test_train_mode_short_video_rounds_evenly():
    # ori_clip_len 6 == total_frames: avg_interval 0, ratio 1/3 -> offsets round(0, 1/3, 2/3) = 0, 0, 1
    out = SampleFrames(clip_len=3, frame_interval=2, num_clips=3)(_results(6))
    np.testing.assert_array_equal(out["frame_inds"], [0, 2, 4, 0, 2, 4, 1, 3, 5])


@pytest.mark.parametrize(
    ("opt", "expected"),
    [("loop", [0, 2, 4, 1]), ("repeat_last", [0, 2, 4, 4])],
)
def test_out_of_bound_options(opt, expected):
    out = SampleFrames(clip_len=4, frame_interval=2, out_of_bound_opt=opt, test_mode=True)(_results(5))
    np.testing.assert_array_equal(out["frame_inds"], expected)


@pytest.mark.parametrize(("opt", "expected"), [("loop", [0, 1, 0, 1] * 2), ("repeat_last", [0, 1, 1, 1] * 2)])
def test_video_shorter_than_a_clip_gives_zero_offsets(opt, expected):
    out = SampleFrames(clip_len=4, num_clips=2, out_of_bound_opt=opt)(_results(2))
    np.testing.assert_array_equal(out["frame_inds"], expected)


def test_start_index_is_added_and_argument_is_deprecated():
    with pytest.warns(FutureWarning, match="start_index"):
        step = SampleFrames(clip_len=2, num_clips=1, test_mode=True, start_index=5)
    out = step(_results(2, start_index=1))
    np.testing.assert_array_equal(out["frame_inds"], [1, 2])


def test_temporal_jitter_adds_one_draw_per_frame():
    np.random.seed(3)  # test mode draws nothing else; randint(4, size=8) -> [2, 0, 1, 3, 0, 0, 0, 1]
    out = SampleFrames(clip_len=4, frame_interval=4, num_clips=2, temporal_jitter=True, test_mode=True)(_results(64))
    # avg = 49 / 2 = 24.5: clip starts 12 and 36, frames 4 apart
    base = np.array([12, 16, 20, 24, 36, 40, 44, 48])
    np.testing.assert_array_equal(out["frame_inds"], base + [2, 0, 1, 3, 0, 0, 0, 1])


def test_invalid_option_and_empty_video():
    with pytest.raises(ValueError, match="out_of_bound_opt"):
        SampleFrames(clip_len=1, out_of_bound_opt="clamp")
    with pytest.raises(DecodeError, match="v.mp4"):
        SampleFrames(clip_len=1)(_results(0))
    with pytest.raises(KeyError, match="start_index"):
        SampleFrames(clip_len=1)({"total_frames": 3})


@settings(max_examples=300)
@given(
    total=st.integers(1, 120),
    clip_len=st.integers(1, 12),
    interval=st.integers(1, 6),
    num_clips=st.integers(1, 10),
    jitter=st.booleans(),
    twice=st.booleans(),
    opt=st.sampled_from(["loop", "repeat_last"]),
    test_mode=st.booleans(),
    start_index=st.integers(0, 1),
    seed=st.integers(0, 2**31 - 1),
)
def test_sample_frames_matches_slow_reference(
    total, clip_len, interval, num_clips, jitter, twice, opt, test_mode, start_index, seed
):
    step = SampleFrames(clip_len, interval, num_clips, jitter, twice, opt, test_mode)
    np.random.seed(seed)
    got = step(_results(total, start_index))["frame_inds"]
    np.random.seed(seed)
    expected = ref_sample_frames(total, clip_len, interval, num_clips, jitter, twice, opt, test_mode, start_index)
    np.testing.assert_array_equal(got, expected)
    assert np.all((got >= start_index) & (got < total + start_index))


# --------------------------------------------------------------------------- DenseSampleFrames


def test_dense_test_mode_spreads_window_starts():
    step = DenseSampleFrames(clip_len=2, num_clips=2, sample_range=64, num_sample_positions=3, test_mode=True)
    out = step(_results(100))
    # sample_position = 37, interval 32, starts linspace(0, 36, 3) = 0, 18, 36
    starts = [0, 32, 18, 50, 36, 68]
    np.testing.assert_array_equal(out["frame_inds"], _clips(*([s, s + 1] for s in starts)))
    assert out["num_clips"] == 2


def test_dense_train_mode():
    np.random.seed(1)  # randint(0, 36) -> 12
    out = DenseSampleFrames(clip_len=1, num_clips=4, sample_range=64)(_results(100))
    np.testing.assert_array_equal(out["frame_inds"], [12, 28, 44, 60])
    # a video shorter than the window starts at 0 and wraps modulo its length
    out = DenseSampleFrames(clip_len=1, num_clips=4, sample_range=64)(_results(40))
    np.testing.assert_array_equal(out["frame_inds"], [0, 16, 32, 48 % 40])


# --------------------------------------------------------------------------- UntrimmedSampleFrames


def test_untrimmed_clips_centred_every_interval():
    out = UntrimmedSampleFrames(clip_len=3, frame_interval=16)(_results(40))
    # centres 8, 24; start_index argument defaults to 1
    np.testing.assert_array_equal(out["frame_inds"], [8, 9, 10, 24, 25, 26])
    assert out["num_clips"] == 2
    out = UntrimmedSampleFrames(clip_len=4, frame_interval=16, start_index=0)(_results(10))
    # centre 8, offsets -2..1, clipped to [0, 9]
    np.testing.assert_array_equal(out["frame_inds"], [6, 7, 8, 9])
    assert out["num_clips"] == 1


# --------------------------------------------------------------------------- SampleProposalFrames


def _proposal(start: int, end: int):
    return (("video", SimpleNamespace(start_frame=start, end_frame=end)), 0)


def test_proposal_val_mode_hand_computed():
    step = SampleProposalFrames(clip_len=1, body_segments=5, aug_segments=(2, 2), aug_ratio=0.5, mode="val")
    out = step(_results(100, start_index=1, out_proposals=[_proposal(20, 40)]))
    # starting stage [10, 20): length 9, middles of 2 segments: 2, 6 -> 12, 16
    # course [20, 40): length 19, 5 segments of 3.8: 1, 5, 9, 13, 17 -> 21 ... 37
    # ending stage from 40: length 9 -> 42, 46
    expected = np.array([12, 16, 21, 25, 29, 33, 37, 42, 46]) + 1
    np.testing.assert_array_equal(out["frame_inds"], expected)
    assert (out["num_clips"], out["num_proposals"], out["clip_len"]) == (9, 1, 1)


def test_proposal_test_mode_ignores_proposals():
    step = SampleProposalFrames(clip_len=1, body_segments=5, aug_segments=(2, 2), aug_ratio=0.5, mode="test")
    out = step(_results(30))
    np.testing.assert_array_equal(out["frame_inds"], [0, 6, 12, 18, 24])
    assert "num_proposals" not in out


def test_proposal_inputs_and_errors():
    step = SampleProposalFrames(clip_len=1, body_segments=1, aug_segments=(1, 1), aug_ratio=(0.5, 0.5), mode="val")
    as_array = step(_results(100, out_proposals=np.array([[20, 40]])))["frame_inds"]
    as_objects = step(_results(100, out_proposals=[SimpleNamespace(start_frame=20, end_frame=40)]))["frame_inds"]
    np.testing.assert_array_equal(as_array, as_objects)
    with pytest.raises(KeyError, match="out_proposals"):
        step(_results(100))
    with pytest.raises(TypeError):
        SampleProposalFrames(1, 1, (1, 1), aug_ratio="big")
    with pytest.raises(ValueError, match="mode"):
        SampleProposalFrames(1, 1, (1, 1), 0.5, mode="eval")


@settings(max_examples=200)
@given(
    data=st.data(),
    total=st.integers(8, 200),
    clip_len=st.integers(1, 4),
    interval=st.integers(1, 3),
    body=st.integers(1, 6),
    aug=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    aug_ratio=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    mode=st.sampled_from(["train", "val"]),
    jitter=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_proposal_sampling_matches_slow_reference(
    data, total, clip_len, interval, body, aug, aug_ratio, mode, jitter, seed
):
    starts = data.draw(st.lists(st.integers(0, total - 2), min_size=1, max_size=5))
    proposals = [(s, data.draw(st.integers(s + 1, total))) for s in starts]
    step = SampleProposalFrames(clip_len, body, aug, aug_ratio, interval, temporal_jitter=jitter, mode=mode)
    np.random.seed(seed)
    got = step(_results(total, out_proposals=[_proposal(s, e) for s, e in proposals]))["frame_inds"]

    np.random.seed(seed)
    offsets = ref_proposal_offsets(proposals, total, clip_len, interval, body, aug, aug_ratio, mode)
    frames = [o + j * interval for o in offsets for j in range(clip_len)]
    if jitter:
        frames = [f + np.random.randint(interval) for f in frames]
    np.testing.assert_array_equal(got, [f % total for f in frames])


def _reference_tail_keeping_offsets(num_frames, clip_len, frame_interval, num_clips):
    """The later MMAction 0.x `_get_train_clips` with keep_tail_frames=True, written out plainly."""
    ori_clip_len = clip_len * frame_interval
    avg_interval = (num_frames - ori_clip_len + 1) / float(num_clips)
    if num_frames > ori_clip_len - 1:
        base_offsets = np.arange(num_clips) * avg_interval
        return (base_offsets + np.random.uniform(0, avg_interval, num_clips)).astype(int)
    return np.zeros((num_clips,), dtype=int)


@pytest.mark.parametrize(("num_frames", "clip_len", "interval", "clips"),
                         [(10, 1, 1, 3), (30, 4, 2, 3), (7, 3, 1, 8), (5, 4, 2, 2), (100, 1, 1, 8)])
def test_keep_tail_frames_matches_the_reference(num_frames, clip_len, interval, clips):
    sampler = SampleFrames(clip_len, interval, clips, keep_tail_frames=True)
    for seed in range(5):
        np.random.seed(seed)
        expected = _reference_tail_keeping_offsets(num_frames, clip_len, interval, clips)
        np.random.seed(seed)
        np.testing.assert_array_equal(sampler._get_train_clips(num_frames), expected)


def test_keep_tail_frames_reaches_the_last_segment():
    # 10 frames, 3 clips of 1: segments [0, 3.33), [3.33, 6.67), [6.67, 10). The integer rule
    # (segment length 10 // 3 = 3) never samples frame 9; the float rule does.
    np.random.seed(0)
    tail = SampleFrames(1, num_clips=3, keep_tail_frames=True)
    plain = SampleFrames(1, num_clips=3)
    seen_tail = {int(tail({"total_frames": 10, "start_index": 0})["frame_inds"][-1]) for _ in range(200)}
    seen_plain = {int(plain({"total_frames": 10, "start_index": 0})["frame_inds"][-1]) for _ in range(200)}
    assert seen_tail == {6, 7, 8, 9} and seen_plain == {6, 7, 8}
    # Test mode ignores the option, as in the reference.
    test = SampleFrames(1, num_clips=3, test_mode=True, keep_tail_frames=True)
    assert test({"total_frames": 10, "start_index": 0})["frame_inds"].tolist() == [1, 5, 8]
