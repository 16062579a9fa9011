"""The whole-array readers of well-formed ActivityNet files agree with the per-entry readers.

Every input, well-formed or not, must give the same `Results` / `GroundTruth` or the same error
message whichever path reads it; the per-entry path is forced by making the typed decode fail.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidact.data.annotations import activitynet, read_ground_truth, read_results
from vidact.data.synth import write_synth_activitynet
from vidact.errors import VidactError
from vidact.io import files

pytest.importorskip("msgspec")

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _array_view(arr: np.ndarray | None) -> Any:
    return None if arr is None else (arr.dtype.str, arr.shape, arr.tobytes())


def _results_view(res: activitynet.Results) -> Any:
    videos = [(vid, _array_view(v.segments), v.labels, _array_view(v.scores)) for vid, v in res.videos.items()]
    return res.path, res.has_labels, json.dumps(res.protocol), videos


def _ground_truth_view(gt: activitynet.GroundTruth) -> Any:
    videos = [(vid, _array_view(v.segments), v.labels, v.scores) for vid, v in gt.videos.items()]
    durations = [(vid, repr(d)) for vid, d in gt.durations.items()]  # repr: 5 vs 5.0, -0.0 vs 0.0
    return (gt.path, gt.format, gt.subset, videos, durations, gt.class_names, gt.num_videos_without_segments,
            gt.sha256)


def _outcome(read, view):
    try:
        return "ok", view(read())
    except VidactError as exc:
        return type(exc).__name__, str(exc), exc.hint


def _both_paths(monkeypatch, read, view):
    fast = _outcome(read, view)
    with monkeypatch.context() as m:
        m.setattr(activitynet, "decode_json_as", lambda source, schema: None)
        slow = _outcome(read, view)
    return fast, slow


def _never_called(*args, **kwargs):
    raise AssertionError("the per-entry reader ran on a well-formed file")


# ---- well-formed files take the fast path and give what the per-entry path gives -----------------


def test_synthetic_files_agree_and_take_the_fast_path(tmp_path, monkeypatch):
    paths = write_synth_activitynet(tmp_path, num_videos=40)
    for kind in ("proposals", "detections"):
        for require_labels in (False, True) if kind == "detections" else (False,):
            fast, slow = _both_paths(monkeypatch, lambda: read_results(paths[kind], require_labels=require_labels),
                                     _results_view)
            assert fast[0] == "ok" and fast == slow
    fast, slow = _both_paths(monkeypatch, lambda: read_ground_truth(paths["ground_truth"]), _ground_truth_view)
    assert fast[0] == "ok" and fast == slow
    monkeypatch.setattr(activitynet, "_result_segments", _never_called)
    monkeypatch.setattr(activitynet, "_ground_truth", _never_called)
    read_results(paths["detections"], require_labels=True)
    read_ground_truth(paths["ground_truth"], subset=None)


def test_fast_results_keep_file_order_offsets_and_protocol(write_anet_json, monkeypatch):
    monkeypatch.setattr(activitynet, "_result_segments", _never_called)
    doc = {
        "version": "VERSION 1.3",
        "external_data": {"used": True, "details": ["x", 0.5]},
        "results": {
            "b": [{"segment": [3, 4], "score": 1, "label": "Run", "extra": [1, {"y": None}]}],
            "a": [],
            "c": [{"segment": [0.5, 0.5], "score": -0.0}, {"segment": [1e-300, 2**70], "score": 0.25, "label": None}],
        },
        "protocol": {"num_clips": 2**80, "aggregation": None},
    }
    res = read_results(write_anet_json("r.json", doc))
    assert list(res.videos) == ["b", "a", "c"]
    np.testing.assert_array_equal(res.videos["c"].segments, [[0.5, 0.5], [1e-300, float(2**70)]])
    assert res.videos["a"].segments.shape == (0, 2) and res.videos["a"].scores.shape == (0,)
    assert res.videos["c"].labels == (None, None) and not res.has_labels
    assert res.protocol == {"num_clips": 2**80, "aggregation": None} and type(res.protocol["num_clips"]) is int
    assert math.copysign(1.0, res.videos["c"].scores[0]) == -1.0


def test_without_msgspec_the_per_entry_readers_run(tmp_path, monkeypatch):
    paths = write_synth_activitynet(tmp_path, num_videos=5)
    fast_results = _results_view(read_results(paths["detections"]))
    fast_gt = _ground_truth_view(read_ground_truth(paths["ground_truth"]))
    monkeypatch.setattr(files, "_msgspec", lambda: None)
    monkeypatch.setattr(activitynet, "_results_outline_type", lambda: None)
    monkeypatch.setattr(activitynet, "_ground_truth_file_type", lambda: None)
    calls = []
    per_entry = activitynet._result_segments
    monkeypatch.setattr(activitynet, "_result_segments", lambda *args: calls.append(1) or per_entry(*args))
    assert _results_view(read_results(paths["detections"])) == fast_results
    assert len(calls) == 5
    assert _ground_truth_view(read_ground_truth(paths["ground_truth"])) == fast_gt


# ---- any file: same result or same error on both paths -------------------------------------------
# Documents are drawn well-formed (with the variations the format allows), then half of them get one
# fault at a random place, so both the fast path and each error message are exercised.

_numbers = st.one_of(st.floats(0, 500, allow_nan=False), st.integers(0, 500), st.just(-0.0), st.just(2**70))
_bad_numbers = st.sampled_from([float("nan"), float("inf"), -float("inf"), True, None, "1.5", [1], 10**400])
_bad_segments = st.one_of(
    st.sampled_from([[1], [1, 2, 3], 4, "0-1", None, {"start": 0}, [5, 2]]),
    st.builds(lambda bad, i: [bad, 1] if i else [0, bad], _bad_numbers, st.booleans()),
)
_bad_values = st.sampled_from(["oops", [1, 2], None, 3, {}])


@st.composite
def _segment(draw):
    return sorted([draw(_numbers), draw(_numbers)], key=float)


@st.composite
def _result_entry(draw):
    score = draw(st.one_of(st.floats(-1, 1), st.integers(-5, 5)))
    entry: dict[str, Any] = {"segment": draw(_segment()), "score": score}
    if draw(st.booleans()):
        entry["label"] = draw(st.sampled_from(["Run", "Jump", None, ""]))
    if not draw(st.integers(0, 3)):
        entry["extra"] = draw(st.sampled_from([None, [1, "x"], {"a": [2.5]}, "\u00e9"]))
    return entry


def _inject(draw, doc: dict, faults: dict[str, Any]) -> Any:
    """`doc` with one fault of a drawn kind (`faults`: kind -> function of draw and doc)."""
    kind = draw(st.sampled_from(sorted(faults)))
    return faults[kind](draw, doc)


def _entry_fault(draw, doc: dict) -> dict:
    entries = [e for items in doc["results"].values() for e in items]
    if not entries:
        return doc
    entry = draw(st.sampled_from(entries))
    action = draw(st.sampled_from(["segment", "score", "label", "drop", "replace"]))
    if action == "segment":
        entry["segment"] = draw(_bad_segments)
    elif action == "score":
        entry["score"] = draw(_bad_numbers)
    elif action == "label":
        entry["label"] = draw(st.sampled_from([3, ["Run"], {"x": 1}]))
    elif action == "drop":
        del entry[draw(st.sampled_from(sorted(entry)))]
    else:
        items = next(items for items in doc["results"].values() if entry in items)
        items[items.index(entry)] = draw(_bad_values)
    return doc


_RESULT_FAULTS: dict[str, Any] = {
    "entry": _entry_fault,
    "video": lambda draw, doc: {**doc, "results": {**doc["results"], "v_x": draw(_bad_values)}},
    "protocol": lambda draw, doc: {**doc, draw(st.sampled_from(["protocol", "meta"])): draw(_bad_values)},
    "both": lambda draw, doc: {**doc, "protocol": {}, "meta": {}},
    "nan elsewhere": lambda draw, doc: {**doc, "version": float("nan")},
    "surrogate elsewhere": lambda draw, doc: {**doc, "version": "\ud800"},
    "empty": lambda draw, doc: {**doc, "results": draw(st.sampled_from([{}, {"a": []}, {"a": [], "b": []}]))},
    "top": lambda draw, doc: draw(st.sampled_from([{"database": {}}, [doc], {"result": doc["results"]}, 3])),
}


@st.composite
def _results_docs(draw):
    ids = draw(st.lists(st.sampled_from(["v_a", "b", "v_c", "", "v_\u00e9", "v_d"]), unique=True, max_size=5))
    doc: dict[str, Any] = {"version": "VERSION 1.3",
                           "results": {vid: draw(st.lists(_result_entry(), max_size=4)) for vid in ids}}
    for key in draw(st.sampled_from([[], ["protocol"], ["meta"]])):
        doc[key] = draw(st.sampled_from([{"num_clips": 10}, {}, {"seed": 2**100, "x": [1.5, None]}]))
    return _inject(draw, doc, _RESULT_FAULTS) if draw(st.booleans()) else doc


def _columns_match_videos(res: activitynet.Results) -> None:
    """The reader's columns hold the same entries as its per-video view."""
    cols = res.columns
    videos = list(res.videos.values())
    assert cols.counts.tolist() == [len(v) for v in videos]
    np.testing.assert_array_equal(cols.segments, np.concatenate([v.segments for v in videos]).reshape(-1, 2))
    np.testing.assert_array_equal(cols.scores, np.concatenate([v.scores for v in videos]))
    assert [None if c < 0 else cols.label_names[c] for c in cols.label_codes.tolist()] == \
        [label for v in videos for label in v.labels]


@_SETTINGS
@given(doc=_results_docs(), require_labels=st.booleans(),
       known=st.sampled_from([(), ("Run", "Jump"), ("Swim", "", "Jump", "Run", "Jump")]), workers=st.sampled_from([1, 2]))
def test_results_both_paths_agree(write_anet_json, monkeypatch, doc, require_labels, known, workers):
    # Known labels (what `vidact eval` passes) and the two-process decode, here on files of any size,
    # only change how the file is read: same `Results`, same error.
    monkeypatch.setattr(activitynet, "_SPLIT_MIN_BYTES", 0)
    path = write_anet_json("results.json", doc)
    fast, slow = _both_paths(
        monkeypatch, lambda: read_results(path, require_labels=require_labels, known_labels=known, workers=workers),
        _results_view)
    assert fast == slow
    res = read_results(path, require_labels=require_labels, known_labels=known, workers=workers) \
        if fast[0] == "ok" else None
    if res is not None and res.columns is not None:  # None: read entry by entry (e.g. a NaN elsewhere)
        _columns_match_videos(res)


def test_two_process_decode_gives_the_same_columns(tmp_path, monkeypatch):
    paths = write_synth_activitynet(tmp_path, num_videos=60)
    known = read_ground_truth(paths["ground_truth"]).class_names
    monkeypatch.setattr(activitynet, "_SPLIT_MIN_BYTES", 0)
    forks = []
    real = activitynet.compute_in_child
    monkeypatch.setattr(activitynet, "compute_in_child", lambda *a: forks.append(1) or real(*a))
    for kind in ("proposals", "detections"):
        one = read_results(paths[kind], known_labels=known)
        two = read_results(paths[kind], known_labels=known, workers=2)
        assert _results_view(one) == _results_view(two)
        for name in ("segments", "scores", "label_codes", "counts"):
            np.testing.assert_array_equal(getattr(one.columns, name), getattr(two.columns, name))
        assert one.columns.label_names == two.columns.label_names == tuple(known)
        _columns_match_videos(two)
    assert len(forks) == 2
    # A label outside the known ones in the child's half: the file is read again without them.
    doc = json.loads(open(paths["detections"]).read())
    last = list(doc["results"])[-1]
    doc["results"][last][0]["label"] = "Not a class"
    (tmp_path / "odd.json").write_text(json.dumps(doc))
    odd = read_results(tmp_path / "odd.json", known_labels=known, workers=2)
    assert odd.videos[last].labels[0] == "Not a class" and "Not a class" in odd.columns.label_names
    _columns_match_videos(odd)


@st.composite
def _gt_video(draw):
    video: dict[str, Any] = {"subset": draw(st.sampled_from(["validation", "training"]))}
    duration = draw(st.one_of(_numbers, st.none(), st.just("missing")))
    if duration != "missing":
        video["duration"] = duration
    video["annotations"] = [
        {"segment": draw(_segment()), "label": draw(st.sampled_from(["Run", "Jump", "Swim"]))}
        for _ in range(draw(st.integers(0, 3)))
    ]
    return video


def _gt_video_fault(draw, doc: dict) -> dict:
    if not doc["database"]:
        return doc
    video = doc["database"][draw(st.sampled_from(sorted(doc["database"])))]
    action = draw(st.sampled_from(["subset", "duration", "annotations", "segment", "label", "drop ann key"]))
    if action == "subset":
        video["subset"] = draw(st.sampled_from([3, None, ["validation"]]))
    elif action == "duration":
        video["duration"] = draw(_bad_numbers.filter(lambda v: v is not None))
    elif action == "annotations":
        video["annotations"] = draw(_bad_values.filter(lambda v: not isinstance(v, list)))
    elif not video["annotations"]:
        del video["annotations" if action == "drop ann key" else "subset"]
    else:
        ann = draw(st.sampled_from(video["annotations"]))
        if action == "segment":
            ann["segment"] = draw(_bad_segments)
        elif action == "label":
            ann["label"] = draw(st.sampled_from([4, None, ["Run"]]))
        else:
            del ann[draw(st.sampled_from(["segment", "label"]))]
    return doc


_GT_FAULTS: dict[str, Any] = {
    "video": _gt_video_fault,
    "not an object": lambda draw, doc: {**doc, "database": {**doc["database"], "v_x": draw(_bad_values)}},
    "nan elsewhere": lambda draw, doc: {**doc, "taxonomy": [float("nan")]},
    "top": lambda draw, doc: draw(st.sampled_from([{"v_a": {"duration_second": 3, "annotations": []}},
                                                   {"results": {}}, [1], {"database": []}])),
}


@st.composite
def _gt_docs(draw):
    ids = draw(st.lists(st.sampled_from(["v_a", "v_b", "c", "d", "v_e", "v_f"]), unique=True, max_size=6))
    doc: dict[str, Any] = {"version": "VERSION 1.3", "taxonomy": [{"nodeName": "Run"}],
                           "database": {vid: draw(_gt_video()) for vid in ids}}
    return _inject(draw, doc, _GT_FAULTS) if draw(st.booleans()) else doc


@_SETTINGS
@given(doc=_gt_docs(), subset=st.sampled_from(["validation", "validation", "training", None, "testing"]))
def test_ground_truth_both_paths_agree(write_anet_json, monkeypatch, doc, subset):
    path = write_anet_json("gt.json", doc)
    fast, slow = _both_paths(monkeypatch, lambda: read_ground_truth(path, subset=subset), _ground_truth_view)
    assert fast == slow


def test_stdin_is_read_once_for_both_paths(monkeypatch):
    good = {"results": {"v_a": [{"segment": [0, 1], "score": 0.5, "label": "Run"}]}, "protocol": {"num_clips": 3}}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(good)))
    res = read_results("-")
    assert res.name == "<stdin>" and res.has_labels and res.protocol == {"num_clips": 3}
    bad = {"results": {"v_a": [{"segment": [0, 1], "score": 0.5}, {"segment": [2, 1], "score": 0.1}]}}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(bad)))
    with pytest.raises(VidactError, match=r'^<stdin>: results\["v_a"\]\[1\].segment: end 1.0 < start 2.0$'):
        read_results("-")
