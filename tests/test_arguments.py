"""Python's conventions across the API: a wrong argument type raises TypeError, a wrong value
ValueError (or InputError, a ValueError), each naming the argument and the value. Where the
reference asserts (AssertionError) we raise ValueError; docs/differences.md lists those places."""

from __future__ import annotations

import numpy as np
import pytest

from vidact.data.datasets import RepeatDataset
from vidact.data.decoding import DecordDecode, PyAVDecode
from vidact.data.pipelines import (
    CenterCrop,
    Collect,
    DenseSampleFrames,
    Flip,
    MultiScaleCrop,
    RandomCrop,
    RandomResizedCrop,
    Resize,
    SampleFrames,
    SampleProposalFrames,
    ThreeCrop,
    ToTensor,
    UntrimmedSampleFrames,
)
from vidact.engine.hooks import EvalHook
from vidact.errors import InputError
from vidact.evaluation import (
    average_recall_at_avg_proposals,
    get_weighted_score,
    mean_class_accuracy,
    pairwise_temporal_iou,
    top_k_accuracy,
)
from vidact.localization import soft_nms, temporal_iou, temporal_nms

SCORES = np.eye(3)

TYPE_ERRORS = [
    (lambda: top_k_accuracy(0.5, [1]), "scores"),
    (lambda: top_k_accuracy(SCORES, [0, 1, 2], 1.5), "topk"),
    (lambda: mean_class_accuracy("abc", [1]), "scores"),
    (lambda: average_recall_at_avg_proposals({"v": np.array([[0, 1.0]])}, 0.5, 1), "proposals"),
    (lambda: average_recall_at_avg_proposals({"v": np.array([[0, 1.0]])}, {}, "1"), "total_num_proposals"),
    (lambda: pairwise_temporal_iou(0.5, np.zeros((1, 2))), "candidate_segments"),
    (lambda: soft_nms(0.5, 0.5, 0.5, 0.5, 10), "proposals"),
    (lambda: soft_nms(np.array([[0, 1, 0.5]]), 0.5, 0.5, 0.5, 2.5), "top_k"),
    (lambda: temporal_nms(0.5, 0.5), "detections"),
    (lambda: temporal_iou(0, 1, "a", 2), "gt_min"),
    (lambda: get_weighted_score(0.5, [1]), "score_list"),
    (lambda: SampleFrames(1.5), "clip_len"),
    (lambda: SampleFrames("2"), "clip_len"),
    (lambda: UntrimmedSampleFrames(1.5), "clip_len"),
    (lambda: SampleProposalFrames(1, 5, (2.5, 2), 0.5), "aug_segments"),
    (lambda: SampleProposalFrames(1, 5.0, (2, 2), 0.5), "body_segments"),
    (lambda: MultiScaleCrop(224, scales=[1, 0.875]), "scales"),
    (lambda: Resize([224, 224]), "scale"),
    (lambda: RandomResizedCrop(area_range=[0.5, 1.0]), "area_range"),
    (lambda: Flip("a"), "flip_ratio"),
    (lambda: ToTensor("imgs"), "keys"),
    (lambda: Collect("imgs"), "keys"),
    (lambda: RepeatDataset([], 2.0), "times"),
    (lambda: Resize((224.5, 100)), "scale"),
    (lambda: EvalHook(None, interval=1.5), "interval"),
    (lambda: CenterCrop(2.5), "Crop_size"),
]

VALUE_ERRORS = [
    (lambda: top_k_accuracy(SCORES, [0, 1, 2], (0,)), "topk"),
    (lambda: SampleFrames(0), "clip_len must be >= 1, got 0"),
    (lambda: SampleFrames(2, num_clips=-1), "num_clips must be >= 1, got -1"),
    (lambda: SampleFrames(2, out_of_bound_opt="wrap"), "out_of_bound_opt"),
    (lambda: DenseSampleFrames(1, sample_range=0), "sample_range must be >= 1, got 0"),
    (lambda: SampleProposalFrames(1, 5, (2, 2), 0.5, mode="foo"), "mode"),
    (lambda: RandomResizedCrop(area_range=(0.5, 0.1)), "area_range"),
    (lambda: Flip(2.0), "flip_ratio"),
    (lambda: Flip(direction="diagonal"), "diagonal"),
    (lambda: MultiScaleCrop(224, num_fixed_crops=7), "7"),
    (lambda: ThreeCrop(10)({"imgs": np.zeros((1, 20, 30, 3), np.uint8)}), "ThreeCrop"),
    (lambda: PyAVDecode(mode="x"), "mode"),
    (lambda: DecordDecode(mode="x"), "mode"),
    (lambda: RepeatDataset([], 0), "times"),
    (lambda: Resize((0, 0), keep_ratio=False), "scale sides must be >= 1"),
    (lambda: RandomCrop(0), "size must be >= 1, got 0"),
    (lambda: CenterCrop(0), "Crop_size must be >= 1, got 0"),
    (lambda: MultiScaleCrop(4, scales=()), "scales must hold at least one scale"),
    (lambda: EvalHook(None, interval=0), "interval must be >= 1, got 0"),
]


@pytest.mark.parametrize(("call", "names"), TYPE_ERRORS)
def test_wrong_types_raise_type_error_naming_the_argument(call, names):
    with pytest.raises(TypeError, match=names):
        call()


@pytest.mark.parametrize(("call", "names"), VALUE_ERRORS)
def test_wrong_values_raise_value_error_naming_the_argument(call, names):
    with pytest.raises(ValueError, match=names) as info:
        call()
    assert not isinstance(info.value, AssertionError)


def test_input_error_is_a_value_error():
    assert issubclass(InputError, ValueError)
