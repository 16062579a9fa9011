"""ActivityNet JSON readers: both ground-truth layouts, results files, v_ matching, entry errors."""

from __future__ import annotations

import numpy as np
import pytest

from vidact.data.annotations import align_results, normalize_video_id, read_ground_truth, read_results
from vidact.errors import AnnotationError, InputError


def _results(write_anet_json, results, name="results.json", **extra):
    return read_results(write_anet_json(name, {"version": "VERSION 1.3", "results": results, **extra}))


def test_official_layout_keeps_one_subset(official_gt):
    gt = read_ground_truth(official_gt)
    assert gt.format == "activitynet" and gt.subset == "validation"
    assert list(gt.videos) == ["v_aaa", "v_bbb"]  # v_eee has no annotations: skipped, as the kit does
    assert gt.num_videos_without_segments == 1
    np.testing.assert_array_equal(gt.videos["v_aaa"].segments, [[10.0, 20.0], [50.0, 70.0]])
    assert gt.videos["v_aaa"].labels == ("Run", "Jump")
    assert gt.class_names == ("Run", "Jump")
    assert gt.durations == {"v_aaa": 100.0, "v_bbb": 30.0, "v_eee": 10.0}
    assert gt.num_segments == 3


def test_other_subsets(official_gt):
    assert list(read_ground_truth(official_gt, subset="training").videos) == ["v_ccc"]
    assert len(read_ground_truth(official_gt, subset=None).videos) == 3
    message = "no videos in subset 'val'; subsets present: testing, training, validation"
    with pytest.raises(AnnotationError, match=message):
        read_ground_truth(official_gt, subset="val")
    with pytest.raises(AnnotationError, match="no annotated segments in subset 'testing'"):
        read_ground_truth(official_gt, subset="testing")


def test_per_video_layout_is_detected(per_video_gt):
    gt = read_ground_truth(per_video_gt, subset="validation")
    assert gt.format == "per-video" and gt.subset is None
    assert list(gt.videos) == ["v_aaa", "v_bbb"]
    assert gt.durations["v_aaa"] == 100.0
    assert gt.class_names == ("Run", "Jump")


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ({"v_a": {"duration": 5, "annotations": []}}, r'database\["v_a"\]: missing "subset"'),
        ({"v_a": {"subset": "validation"}}, r'database\["v_a"\]: missing "annotations"'),
        ({"v_a": {"subset": "validation", "annotations": [{"segment": [1, 2]}]}},
         r'database\["v_a"\].annotations\[0\]: missing "label"'),
        ({"v_a": {"subset": "validation", "annotations": [{"segment": [3, 2], "label": "x"}]}},
         r'database\["v_a"\].annotations\[0\].segment: end 2.0 < start 3.0'),
        ({"v_a": {"subset": "validation", "annotations": [{"segment": [1, 2], "label": 4}]}},
         r'database\["v_a"\].annotations\[0\].label: expected a class name \(string\), got a number'),
        ({"v_a": {"subset": "validation", "duration": "long", "annotations": []}},
         r'database\["v_a"\].duration: expected a number, got a string'),
        ({"v_a": []}, r'database\["v_a"\]: expected an object, got a list'),
    ],
)
def test_ground_truth_entry_errors(write_anet_json, database, message):
    path = write_anet_json("gt.json", {"database": database})
    with pytest.raises(AnnotationError, match=rf"/gt.json: {message}"):
        read_ground_truth(path)


def test_ground_truth_file_errors(write_anet_json):
    with pytest.raises(AnnotationError, match="gt.json: expected a JSON object of videos, got a list"):
        read_ground_truth(write_anet_json("gt.json", [1, 2]))
    with pytest.raises(AnnotationError, match="gt.json: this is a results file, not ground truth"):
        read_ground_truth(write_anet_json("gt.json", {"results": {}}))
    with pytest.raises(AnnotationError, match="gt.json: not ActivityNet ground truth"):
        read_ground_truth(write_anet_json("gt.json", {"a": 1}))
    with pytest.raises(AnnotationError, match=r'gt.json: \["v_b"\]: missing "annotations"'):
        read_ground_truth(write_anet_json("gt.json", {"v_a": {"annotations": []}, "v_b": {"duration_second": 3}}))


def test_results_file(write_anet_json):
    res = _results(
        write_anet_json,
        {"v_aaa": [{"segment": [1, 2], "score": 0.5, "label": "Run"}], "v_bbb": []},
        protocol={"checkpoint_sha256": "abc"},
    )
    assert res.has_labels and res.num_segments == 1
    np.testing.assert_array_equal(res.videos["v_aaa"].segments, [[1.0, 2.0]])
    np.testing.assert_array_equal(res.videos["v_aaa"].scores, [0.5])
    assert len(res.videos["v_bbb"]) == 0
    assert res.protocol == {"checkpoint_sha256": "abc"}
    assert not _results(write_anet_json, {"a": [{"segment": [1, 2], "score": 1}]}).has_labels


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"segment": [1, 2]}, r'results\["v_abc"\]\[1\]: missing "score"'),
        ({"score": 0.3}, r'results\["v_abc"\]\[1\]: missing "segment"'),
        ({"segment": [1, 2, 3], "score": 0.3},
         r'results\["v_abc"\]\[1\].segment: expected \[start, end\], got 3 values'),
        ({"segment": 4, "score": 0.3}, r'results\["v_abc"\]\[1\].segment: expected \[start, end\], got a number'),
        ({"segment": [5, 2], "score": 0.3}, r'results\["v_abc"\]\[1\].segment: end 2.0 < start 5.0'),
        ({"segment": [1, float("nan")], "score": 0.3},
         r'results\["v_abc"\]\[1\].segment\[1\]: expected a finite number, got nan'),
        ({"segment": [1, 2], "score": float("inf")},
         r'results\["v_abc"\]\[1\].score: expected a finite number, got inf'),
        ({"segment": [1, 2], "score": "high"}, r'results\["v_abc"\]\[1\].score: expected a number, got a string'),
        ({"segment": [1, 2], "score": True}, r'results\["v_abc"\]\[1\].score: expected a number, got a boolean'),
        ({"segment": [1, 2], "score": 1, "label": 3}, r'results\["v_abc"\]\[1\].label: expected a class name'),
        ("oops", r'results\["v_abc"\]\[1\]: expected an object, got a string'),
    ],
)
def test_results_entry_errors(write_anet_json, entry, message):
    good = {"segment": [0, 1], "score": 0.9}
    with pytest.raises(AnnotationError, match=rf"/results.json: {message}") as info:
        _results(write_anet_json, {"v_abc": [good, entry]})
    assert "\n" not in str(info.value)


def test_results_file_errors(write_anet_json):
    with pytest.raises(AnnotationError, match=r'results.json: missing "results"') as info:
        read_results(write_anet_json("results.json", {"database": {}}))
    assert "ground truth" in info.value.hint
    with pytest.raises(AnnotationError, match=r'results.json: "results" is empty \(no videos\)'):
        _results(write_anet_json, {})
    with pytest.raises(AnnotationError, match=r'results.json: no segments in "results" \(2 videos, all empty\)'):
        _results(write_anet_json, {"a": [], "b": []})
    with pytest.raises(AnnotationError, match=r'results.json: results\["a"\]: expected a list, got an object'):
        _results(write_anet_json, {"a": {}})
    with pytest.raises(AnnotationError, match=r'results.json: results\["a"\]\[0\]: missing "label"'):
        read_results(write_anet_json("results.json", {"results": {"a": [{"segment": [0, 1], "score": 1}]}}),
                      require_labels=True)
    with pytest.raises(InputError, match="results.json: has both \"protocol\" and \"meta\""):
        _results(write_anet_json, {"a": [{"segment": [0, 1], "score": 1}]}, protocol={}, meta={})


def test_video_ids_match_with_or_without_prefix(official_gt, write_anet_json):
    gt = read_ground_truth(official_gt)
    seg = [{"segment": [0, 1], "score": 1.0, "label": "Run"}]
    aligned = align_results(gt, _results(write_anet_json, {"aaa": seg, "v_zzz": seg}))
    assert list(aligned.videos) == ["v_aaa", "v_zzz"]
    assert aligned.missing == ["v_bbb"] and aligned.extra == ["v_zzz"]
    assert normalize_video_id("v_aaa") == normalize_video_id("aaa") == "aaa"


def test_ground_truth_without_prefix_matches_results_with_it(write_anet_json):
    gt = read_ground_truth(write_anet_json("gt.json", {"aaa": {"annotations": [{"segment": [0, 1], "label": "Run"}]}}))
    aligned = align_results(gt, _results(write_anet_json, {"v_aaa": [{"segment": [0, 1], "score": 1.0}]}))
    assert list(aligned.videos) == ["aaa"] and not aligned.missing and not aligned.extra


def test_same_video_twice_after_normalisation(official_gt, write_anet_json):
    gt = read_ground_truth(official_gt)
    seg = [{"segment": [0, 1], "score": 1.0}]
    with pytest.raises(AnnotationError, match=r'results\["v_aaa"\] and results\["aaa"\] are the same video'):
        align_results(gt, _results(write_anet_json, {"v_aaa": seg, "aaa": seg}))


def test_labels_not_in_ground_truth(official_gt, write_anet_json):
    gt = read_ground_truth(official_gt)
    res = _results(write_anet_json, {"v_aaa": [{"segment": [0, 1], "score": 1.0, "label": "Runn"}]})
    with pytest.raises(AnnotationError, match=r'results\["v_aaa"\]\[0\].label: "Runn" is not a class of .*gt.json '
                                              r'\(did you mean "Run"\?\)'):
        align_results(gt, res, check_labels=True)
    assert align_results(gt, res).extra == []
