"""Snippet feature extraction (`vidact.engine.features`): snippet indices, resampling against hand
computations, outputs, loader workers, resuming, undecodable videos, inputs and concatenation."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from vidact.engine.checkpoint import save_checkpoint
from vidact.engine.features import (
    VIDEO_INFO,
    concat_features,
    extract_features,
    gather_inputs,
    plan_snippets,
    read_features,
    resample_features,
    snippet_frame_inds,
)
from vidact.errors import InputError
from vidact.models import build_model
from vidact.schemas.load import load_recipe

from toy_data import RECIPE, make_tiny, overrides


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny(tmp_path_factory.mktemp("tiny_synth"))


@pytest.fixture(scope="module")
def recipe(tiny):
    return load_recipe(RECIPE, overrides(tiny))


@pytest.fixture(scope="module")
def checkpoint(recipe, tmp_path_factory) -> Path:
    """An untrained checkpoint of the shrunk toy TSM (features need weights, not training)."""
    path = tmp_path_factory.mktemp("ckpt") / "untrained.pth"
    save_checkpoint(path, model=build_model(recipe.model), epoch=0, iteration=0, recipe=recipe.to_plain())
    return path


def videos(root: Path) -> list[Path]:
    return sorted((root / "videos").rglob("*.mp4"))


def test_snippet_frame_inds_by_hand():
    # 40 frames, stride 16: 2 whole snippets centred on frames 8 and 24
    np.testing.assert_array_equal(snippet_frame_inds(40, 16, 1), [[8], [24]])
    np.testing.assert_array_equal(snippet_frame_inds(40, 16, 4, 2), [[4, 6, 8, 10], [20, 22, 24, 26]])
    # clamped to the video; a video shorter than a stride still has one snippet
    np.testing.assert_array_equal(snippet_frame_inds(5, 16, 3, 4), [[4, 4, 4]])
    # centres 2, 6, 10, 14; offsets (-1, 0) * 3; frame -1 clamped to 0
    np.testing.assert_array_equal(snippet_frame_inds(16, 4, 2, 3), [[0, 2], [3, 6], [7, 10], [11, 14]])


def test_resample_by_hand():
    f = np.arange(4, dtype=np.float32)[:, None] * [1.0, 10.0]  # 4 snippets, 2 channels
    # down to 2 bins: centres at snippet coordinates 0.5 and 2.5
    np.testing.assert_allclose(resample_features(f, 2), [[0.5, 5.0], [2.5, 25.0]])
    # up to 8: coordinates (k + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, ..., 3.25 (clamped to 3)
    np.testing.assert_allclose(resample_features(f, 8)[:, 0], [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
    np.testing.assert_array_equal(resample_features(f, 0), f)
    np.testing.assert_allclose(resample_features(f[:1], 3), np.repeat(f[:1], 3, axis=0))


def _slow_resample(f: np.ndarray, dim: int) -> np.ndarray:
    n = f.shape[0]
    out = np.zeros((dim, f.shape[1]))
    for k in range(dim):
        x = min(max((k + 0.5) * n / dim - 0.5, 0.0), n - 1)
        lo = int(np.floor(x))
        hi = min(lo + 1, n - 1)
        out[k] = f[lo] * (1 - (x - lo)) + f[hi] * (x - lo)
    return out


@pytest.mark.parametrize(("n", "dim"), [(1, 100), (7, 100), (100, 100), (250, 100), (33, 16), (5, 1)])
def test_resample_matches_slow_reference(n, dim):
    f = np.random.default_rng(n).normal(size=(n, 3)).astype(np.float32)
    np.testing.assert_allclose(resample_features(f, dim), _slow_resample(f, dim), rtol=1e-5, atol=1e-5)


def test_plan_follows_recipe(recipe):
    plan = plan_snippets(recipe, snippet_stride=16)
    assert plan.clip_len == 8 and plan.frame_interval == 2  # TSM: a whole group of 8 segments per snippet
    assert [type(s).__name__ for s in plan.steps] == ["Normalize", "FormatShape"]
    assert plan_snippets(recipe, snippet_stride=4, clip_len=8).frame_interval == 1


def test_outputs_native_and_resampled(recipe, checkpoint, tiny, tmp_path):
    jobs = gather_inputs([tiny / "videos"])
    native = extract_features(recipe, checkpoint, jobs, tmp_path / "native", temporal_dim=0, snippet_stride=4,
                              batch_size=3, workers=0)
    assert native.to_dict()["extracted"] == 8 and native.feature_dim == 64 and not native.failures
    resampled = extract_features(recipe, checkpoint, jobs, tmp_path / "t5", temporal_dim=5, snippet_stride=4,
                                 fmt="npy", batch_size=4, workers=2)
    assert resampled.extracted == 8
    info = json.loads((tmp_path / "t5" / VIDEO_INFO).read_text())
    assert sorted(info) == sorted(job.rel for job in jobs)
    for job in jobs:
        rows = read_features(tmp_path / "native" / f"{job.rel}.csv")
        assert rows.shape == (4, 64)  # 16 frames / stride 4
        got = read_features(tmp_path / "t5" / f"{job.rel}.npy")
        # batches of 3 vs 4 snippets and 0 vs 2 loader workers give the same features
        np.testing.assert_allclose(got, resample_features(rows, 5), rtol=1e-4, atol=1e-5)
        assert info[job.rel] == {"duration_second": 1.0, "duration_frame": 16, "feature_frame": 16, "fps": 16.0,
                                 "num_snippets": 4, "temporal_dim": 5}


def test_features_are_the_pooled_backbone(recipe, checkpoint, tiny, tmp_path):
    """One video, one snippet of 8 frames: the row equals the backbone run by hand on those frames."""
    import torch

    from vidact.data.decoding.pyav_reader import PyAVReader
    from vidact.engine.predict import load_model

    video = videos(tiny)[0]
    extract_features(recipe, checkpoint, gather_inputs([video]), tmp_path, temporal_dim=0, snippet_stride=16)
    row = read_features(tmp_path / f"{video.stem}.csv")
    # 16 frames, stride 16: one snippet centred on frame 8, 8 frames 2 apart: 0, 2, ..., 14
    frames = PyAVReader(video).get_frames(np.arange(0, 16, 2))
    mean, std = np.array([123.675, 116.28, 103.53]), np.array([58.395, 57.12, 57.375])
    imgs = torch.from_numpy(((frames - mean) / std).astype(np.float32)).permute(0, 3, 1, 2)
    model = load_model(recipe, checkpoint)
    with torch.no_grad():
        expected = model.backbone(imgs).mean(dim=(0, 2, 3)).numpy()
    np.testing.assert_allclose(row[0], expected, rtol=1e-4, atol=1e-4)


def test_resume_and_corrupt_video(recipe, checkpoint, tiny, tmp_path):
    src = videos(tiny)
    bad = tmp_path / "in" / "m_broken.mp4"
    bad.parent.mkdir()
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    items = [src[0], bad, src[-1]]  # the broken one sorts in the middle
    out = tmp_path / "out"
    first = extract_features(recipe, checkpoint, gather_inputs(items), out, temporal_dim=3, snippet_stride=8)
    assert first.extracted == 2 and [f["source"] for f in first.failures] == [str(bad)]
    assert str(bad) in first.failures[0]["reason"]
    done = out / f"{src[0].stem}.csv"
    stamp = done.stat().st_mtime_ns
    done_last = out / f"{src[-1].stem}.csv"
    done_last.unlink()
    second = extract_features(recipe, checkpoint, gather_inputs(items), out, temporal_dim=3, snippet_stride=8)
    assert (second.skipped, second.extracted, len(second.failures)) == (1, 1, 1)
    assert done.stat().st_mtime_ns == stamp and done_last.is_file()
    assert sorted(json.loads((out / VIDEO_INFO).read_text())) == sorted([src[0].stem, src[-1].stem])
    assert not list(out.glob(".*.tmp*")) and not list(out.glob("*.partial*"))


def test_inputs_stdin_and_list(tiny, tmp_path):
    src = videos(tiny)
    (tmp_path / "list.txt").write_text("# videos\n" + "\n".join(map(str, src[:2])) + "\n\n")
    jobs = gather_inputs(["-", f"@{tmp_path / 'list.txt'}"], stdin=io.StringIO(f"{src[3]}\n"))
    assert [j.source for j in jobs] == sorted(map(str, [src[0], src[1], src[3]]), key=lambda s: Path(s).stem)
    with pytest.raises(InputError, match="no such"):
        gather_inputs([f"@{tmp_path / 'missing.txt'}"])


def test_concat(tmp_path):
    a, b = tmp_path / "rgb", tmp_path / "flow"
    a.mkdir(), b.mkdir()
    np.savetxt(a / "v1.csv", np.ones((3, 2)), delimiter=",", header="f0,f1", comments="")
    np.savetxt(b / "v1.csv", np.zeros((3, 4)), delimiter=",", header="f0,f1,f2,f3", comments="")
    np.savetxt(a / "v2.csv", np.ones((3, 2)), delimiter=",", header="f0,f1", comments="")
    (a / VIDEO_INFO).write_text(json.dumps({"v1": {"fps": 30.0}, "v2": {"fps": 30.0}}))
    result = concat_features([a, b], tmp_path / "both")
    assert result["videos"] == 1 and result["feature_dim"] == 6 and result["not_in_every_folder"] == ["v2"]
    np.testing.assert_array_equal(read_features(tmp_path / "both" / "v1.csv"), [[1, 1, 0, 0, 0, 0]] * 3)
    assert json.loads((tmp_path / "both" / VIDEO_INFO).read_text()) == {"v1": {"fps": 30.0}}
    np.savetxt(b / "v2.csv", np.zeros((4, 4)), delimiter=",", header="f0,f1,f2,f3", comments="")
    with pytest.raises(InputError, match="row counts differ"):
        concat_features([a, b], tmp_path / "both2")


FLOW_RECIPE = """
model:
  type: Recognizer2D
  backbone: {type: ResNet, depth: 18, pretrained: null, in_channels: 10, num_stages: 1, out_indices: [0],
             strides: [1], dilations: [1]}
  cls_head: {type: TSNHead, num_classes: 2, in_channels: 64, spatial_type: avg,
             consensus: {type: AvgConsensus, dim: 1}, dropout_ratio: 0}
  test_cfg: {average_clips: prob}
data:
  videos_per_gpu: 2
  workers_per_gpu: 0
  test:
    type: RawframeDataset
    ann_file: unused.txt
    data_prefix: unused
    modality: Flow
    filename_tmpl: '{}_{:05d}.jpg'
    test_mode: true
    pipeline:
      - {type: SampleFrames, clip_len: 5, frame_interval: 1, num_clips: 3, test_mode: true}
      - {type: RawFrameDecode}
      - {type: ThreeCrop, crop_size: 24}
      - {type: Normalize, mean: [128, 128], std: [128, 128]}
      - {type: FormatShape, input_format: NCHW_Flow}
      - {type: Collect, keys: [imgs, label], meta_keys: []}
      - {type: ToTensor, keys: [imgs]}
optimizer: {type: SGD, lr: 0.01}
total_epochs: 1
"""


def test_flow_modality(tiny, tmp_path):
    """Flow folders written by extract-frames --flow through a 2D flow recognizer (10 = 5 x/y pairs)."""
    from vidact.data.extract import ExtractOptions, extract_frames

    src = videos(tiny)[:2]
    extract_frames(src, tmp_path / "frames", ExtractOptions(flow=True), workers=1)
    (tmp_path / "flow.yaml").write_text(FLOW_RECIPE)
    recipe = load_recipe(tmp_path / "flow.yaml", [])
    plan = plan_snippets(recipe, modality="flow", snippet_stride=4)
    assert plan.clip_len == 5 and [type(s).__name__ for s in plan.steps] == ["CenterCrop", "Normalize", "FormatShape"]
    ckpt = tmp_path / "flow.pth"
    save_checkpoint(ckpt, model=build_model(recipe.model), epoch=0, iteration=0, recipe=recipe.to_plain())
    jobs = gather_inputs([tmp_path / "frames"], modality="flow")
    assert [j.rel for j in jobs] == [v.stem for v in src]
    summary = extract_features(recipe, ckpt, jobs, tmp_path / "out", modality="flow", temporal_dim=0,
                               snippet_stride=4)
    assert summary.extracted == 2 and not summary.failures
    for video in src:
        assert read_features(tmp_path / "out" / f"{video.stem}.csv").shape == (3, 64)  # 15 flow frames // 4
    info = json.loads((tmp_path / "out" / VIDEO_INFO).read_text())[src[0].stem]
    assert (info["duration_frame"], info["feature_frame"], info["fps"]) == (16, 12, 16.0)


I3D_RECIPE = """
model:
  type: Recognizer3D
  backbone: {type: ResNet3d, depth: 18, pretrained: null, pretrained2d: false, num_stages: 1, out_indices: [0],
             spatial_strides: [1], temporal_strides: [1], dilations: [1], inflate: [1], non_local: [0],
             conv1_stride_t: 1, pool1_stride_t: 1}
  cls_head: {type: I3DHead, num_classes: 2, in_channels: 64}
  test_cfg: {average_clips: prob}
data:
  videos_per_gpu: 2
  workers_per_gpu: 0
  test:
    type: VideoDataset
    ann_file: unused.txt
    data_prefix: unused
    test_mode: true
    pipeline:
      - {type: PyAVInit}
      - {type: SampleFrames, clip_len: 4, frame_interval: 2, num_clips: 10, test_mode: true}
      - {type: PyAVDecode}
      - {type: Resize, scale: [-1, 28]}
      - {type: ThreeCrop, crop_size: 24}
      - {type: Normalize, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375]}
      - {type: FormatShape, input_format: NCTHW}
      - {type: Collect, keys: [imgs, label], meta_keys: []}
      - {type: ToTensor, keys: [imgs]}
optimizer: {type: SGD, lr: 0.01}
total_epochs: 1
"""


def test_3d_recognizer(tiny, tmp_path):
    """A Recognizer3D: one 4-frame clip (2 apart) per snippet, pooled over time and space."""
    import torch

    from vidact.data.decoding.pyav_reader import PyAVReader
    from vidact.engine.features import _transform
    from vidact.engine.predict import load_model

    (tmp_path / "i3d.yaml").write_text(I3D_RECIPE)
    recipe = load_recipe(tmp_path / "i3d.yaml", [])
    plan = plan_snippets(recipe, snippet_stride=8)
    assert (plan.clip_len, plan.frame_interval) == (4, 2)
    ckpt = tmp_path / "i3d.pth"
    save_checkpoint(ckpt, model=build_model(recipe.model), epoch=0, iteration=0, recipe=recipe.to_plain())
    video = videos(tiny)[0]
    summary = extract_features(recipe, ckpt, gather_inputs([video]), tmp_path / "out", temporal_dim=0,
                               snippet_stride=8, batch_size=1)
    assert summary.extracted == 1
    rows = read_features(tmp_path / "out" / f"{video.stem}.csv")
    assert rows.shape == (2, 64)
    # snippet 1 by hand: centre 12, frames 8, 10, 12, 14, through the recipe's transforms
    # (Resize(-1, 28), ThreeCrop -> CenterCrop 24, Normalize, NCTHW), then the backbone pooled by hand
    frames = PyAVReader(video).get_frames(np.array([8, 10, 12, 14]))
    imgs = _transform(frames, plan, 1)
    assert tuple(imgs.shape) == (1, 1, 3, 4, 24, 24)
    model = load_model(recipe, ckpt)
    with torch.no_grad():
        expected = model.backbone(imgs[:, 0]).mean(dim=(2, 3, 4))[0].numpy()
    np.testing.assert_allclose(rows[1], expected, rtol=1e-4, atol=1e-4)


def test_shards_partition_the_videos(recipe, checkpoint, tiny, tmp_path):
    jobs = gather_inputs([tiny / "videos"])[:4]
    for index in (0, 1):
        summary = extract_features(recipe, checkpoint, jobs, tmp_path, temporal_dim=0, shard=(index, 2))
        assert summary.videos == 2 and summary.extracted == 2
    assert sorted(json.loads((tmp_path / VIDEO_INFO).read_text())) == sorted(j.rel for j in jobs)
