"""Building pipeline steps, pipelines, datasets and loaders from specs and dicts; collation."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import TypeAdapter
from torch.utils.data import Dataset

from vidact.data.build import (
    batch_to_device,
    build_dataloader,
    build_dataset,
    build_pipeline,
    build_pipeline_step,
    collate,
    worker_init_fn,
)
from vidact.data.datasets import RawframeDataset, RepeatDataset, VideoDataset
from vidact.data.pipelines import Compose, DataContainer, SampleFrames
from vidact.data.registry import PIPELINES
from vidact.data.samplers import DistributedSampler
from vidact.schemas import load_recipe
from vidact.schemas.data import Dataset as DatasetUnion
from vidact.schemas.data import SampleFramesSpec
from vidact.schemas.load import RecipeProblems

REPO = Path(__file__).resolve().parents[2]

# The required arguments of every pipeline step (the rest keep their defaults).
MINIMAL_ARGS: dict[str, dict] = {
    "SampleFrames": {"clip_len": 1},
    "DenseSampleFrames": {"clip_len": 1},
    "SampleProposalFrames": {"clip_len": 1, "body_segments": 5, "aug_segments": [2, 2], "aug_ratio": 0.5},
    "Resize": {"scale": [-1, 256]},
    "RandomCrop": {"size": 224},
    "MultiScaleCrop": {"input_size": 224},
    "CenterCrop": {"crop_size": 224},
    "ThreeCrop": {"crop_size": 224},
    "TenCrop": {"crop_size": 224},
    "MultiGroupCrop": {"crop_size": 224, "groups": 2},
    "Normalize": {"mean": [0, 0, 0], "std": [1, 1, 1]},
    "FormatShape": {"input_format": "NCHW"},
    "Collect": {"keys": ["imgs"]},
    "ToTensor": {"keys": ["imgs"]},
    "ImageToTensor": {"keys": ["imgs"]},
    "Transpose": {"keys": ["imgs"], "order": [2, 0, 1]},
    "ToDataContainer": {"fields": [{"key": "gt_bbox", "stack": False}]},
    "LoadProposals": {"top_k": 5, "pgm_proposals_dir": "p", "pgm_features_dir": "f"},
}


@pytest.mark.filterwarnings("ignore:\"FrameSelector\" is deprecated")
@pytest.mark.parametrize("name", PIPELINES.names())
def test_every_pipeline_step_builds_from_a_dict(name):
    step = build_pipeline_step({"type": name, **MINIMAL_ARGS.get(name, {})})
    assert type(step) is PIPELINES.get(name)


def test_step_from_spec_dict_or_callable():
    spec = SampleFramesSpec(type="SampleFrames", clip_len=2, num_clips=8)
    from_spec = build_pipeline_step(spec)
    assert isinstance(from_spec, SampleFrames) and (from_spec.clip_len, from_spec.num_clips) == (2, 8)
    from_dict = build_pipeline_step({"type": "SampleFrames", "clip_len": 2, "num_clips": 8})
    assert repr(from_dict) == repr(from_spec)

    def step(results):
        return results

    assert build_pipeline_step(step) is step
    with pytest.raises(TypeError, match="expected a spec, a dict or a callable"):
        build_pipeline_step(42)


def test_nested_specs_become_plain_arguments():
    step = build_pipeline_step({"type": "ToDataContainer", "fields": [{"key": "gt_bbox", "stack": False}]})
    assert step.fields == ({"key": "gt_bbox", "stack": False, "cpu_only": False},)


def test_dict_errors_read_like_recipe_errors():
    with pytest.raises(RecipeProblems) as info:
        build_pipeline([{"type": "PyAVInit"}, {"type": "SampleFrames", "clip_len": 0, "num_clip": 8}])
    assert str(info.value) == (
        "invalid pipeline step 'SampleFrames' (2 problems)\n"
        "  pipeline[1].clip_len: must be > 0, got 0\n"
        "  pipeline[1].num_clip: unknown key 'num_clip'; did you mean 'num_clips'?")
    with pytest.raises(RecipeProblems, match=r"type: unknown 'SampleFrame'; did you mean 'SampleFrames'\?"):
        build_pipeline_step({"type": "SampleFrame", "clip_len": 1})
    with pytest.raises(RecipeProblems, match=r"pipeline\[0\].type: missing required key"):
        build_pipeline([{"clip_len": 1}])


def test_build_pipeline_mixes_specs_dicts_and_callables():
    pipeline = build_pipeline([SampleFramesSpec(type="SampleFrames", clip_len=1),
                               {"type": "Collect", "keys": ["frame_inds"], "meta_keys": []},
                               lambda r: r["frame_inds"].tolist()])
    assert isinstance(pipeline, Compose) and len(pipeline.transforms) == 3
    assert pipeline({"total_frames": 10, "start_index": 0, "label": 0}) in ([i] for i in range(10))
    assert build_pipeline(pipeline) is pipeline
    with pytest.raises(TypeError, match="list of steps"):
        build_pipeline({"type": "SampleFrames"})


# ---- datasets ----------------------------------------------------------------------------------


@pytest.fixture
def ann(tmp_path):
    path = tmp_path / "ann.txt"
    path.write_text("a 10 0\nb 12 1\n")
    return path


def test_build_dataset_from_dict_with_default_args(ann):
    ds = build_dataset({"type": "RawframeDataset", "ann_file": str(ann), "pipeline": [], "start_index": 0},
                       default_args={"test_mode": True, "start_index": 1, "failure_budget": 0})
    assert isinstance(ds, RawframeDataset)
    assert ds.test_mode and ds.start_index == 0 and ds.failure_budget == 0  # the config wins over defaults
    assert ds.filename_tmpl == "img_{:05}.jpg"


def test_build_dataset_from_a_spec_with_default_args(tmp_path):
    ann = tmp_path / "videos.txt"
    ann.write_text("a.mp4 0\n")
    spec = TypeAdapter(DatasetUnion).validate_python(
        {"type": "VideoDataset", "ann_file": str(ann), "pipeline": [{"type": "PyAVInit"}]})
    ds = build_dataset(spec, {"test_mode": True})
    assert isinstance(ds, VideoDataset) and ds.test_mode and ds.start_index == 0
    assert type(ds.pipeline.transforms[0]).__name__ == "PyAVInit"


def test_build_repeat_dataset_passes_default_args_on(ann):
    ds = build_dataset({"type": "RepeatDataset", "times": 3,
                        "dataset": {"type": "RawframeDataset", "ann_file": str(ann), "pipeline": []}},
                       {"test_mode": True})
    assert isinstance(ds, RepeatDataset) and len(ds) == 6 and ds.dataset.test_mode


def test_build_dataset_errors(ann):
    with pytest.raises(RecipeProblems) as info:
        build_dataset({"type": "RawframeDataset", "ann_file": str(ann), "data_prefx": "x",
                       "pipeline": [{"type": "Resize", "scale": "224px"}]})
    assert str(info.value).splitlines()[1:] == [
        "  pipeline[0].scale: expected a float factor (e.g. 0.5) or [w, h] with -1 for a free side "
        "(e.g. [-1, 256]), got '224px'",
        "  data_prefx: unknown key 'data_prefx'; did you mean 'data_prefix'?",
    ]
    with pytest.raises(RecipeProblems, match="unknown 'VideoDatset'; did you mean 'VideoDataset'"):
        build_dataset({"type": "VideoDatset"})


def _write_video(path: Path, num_frames: int) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(num_frames):
            img = np.full((48, 64, 3), i * 10, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_published_tsm_recipe_builds_a_training_dataset(tmp_path):
    _write_video(tmp_path / "clip.mp4", 20)
    (tmp_path / "train.txt").write_text("clip.mp4 3\nclip.mp4 5\n")
    recipe = load_recipe(REPO / "recipes" / "tsm_r50_kinetics400.yaml",
                         [f"data.train.ann_file={tmp_path / 'train.txt'}", f"data.train.data_prefix={tmp_path}"])
    ds = build_dataset(recipe.data.train)
    loader = build_dataloader(ds, videos_per_gpu=2, workers_per_gpu=0, dist=False, seed=0)
    batch = next(iter(loader))
    assert batch["imgs"].shape == (2, 8, 3, 224, 224) and batch["imgs"].dtype == torch.float32
    assert batch["label"].shape == (2, 1) and sorted(batch["label"].flatten().tolist()) == [3, 5]


# ---- loaders -----------------------------------------------------------------------------------


class RandomDraws(Dataset):
    """Each item: its index and one draw from `random`, NumPy and an augmentation-like step."""

    def __len__(self) -> int:
        return 12

    def __getitem__(self, idx):
        return {"idx": idx, "py": random.random(), "np": np.random.rand(2).astype(np.float32),
                "meta": {"name": f"s{idx}"}}


def _epochs(loader, num_epochs=2):
    out = []
    for epoch in range(num_epochs):
        if isinstance(loader.sampler, DistributedSampler):
            loader.sampler.set_epoch(epoch)
        out.append([(b["idx"].tolist(), b["py"].tolist(), b["np"].tolist()) for b in loader])
    return out


@pytest.mark.parametrize("dist", [False, True])
def test_seeded_loaders_with_workers_are_reproducible(dist):
    def make(seed):
        return build_dataloader(RandomDraws(), videos_per_gpu=4, workers_per_gpu=2, dist=dist, seed=seed)

    first, again, other = _epochs(make(7)), _epochs(make(7)), _epochs(make(8))
    assert first == again
    assert first != other
    assert first[0] != first[1]  # the order and the draws change between epochs
    assert sorted(i for batch in first[0] for i in batch[0]) == list(range(12))


def test_loader_settings_and_collation():
    loader = build_dataloader(RandomDraws(), videos_per_gpu=3, workers_per_gpu=1, num_gpus=2, dist=False, seed=0)
    assert loader.batch_size == 6 and loader.num_workers == 2 and loader.persistent_workers
    assert loader.pin_memory == torch.cuda.is_available()
    batch = next(iter(loader))
    assert batch["idx"].dtype == torch.int64 and batch["np"].shape == (6, 2)
    assert [m["name"] for m in batch["meta"]] == [f"s{i}" for i in batch["idx"].tolist()]
    in_process = build_dataloader(RandomDraws(), videos_per_gpu=3, workers_per_gpu=0, dist=True, shuffle=False)
    assert not in_process.persistent_workers and isinstance(in_process.sampler, DistributedSampler)
    assert next(iter(in_process))["idx"].tolist() == [0, 1, 2]
    assert build_dataloader(RandomDraws(), 2, 0, dist=False, drop_last=True, shuffle=False).drop_last


def test_worker_init_fn_seeds_from_seed_rank_and_worker():
    worker_init_fn(1, num_workers=4, rank=2, seed=100)
    a = (random.random(), np.random.rand())
    random.seed(109)
    np.random.seed(109)
    assert a == (random.random(), np.random.rand())


class WorkerState(Dataset):
    """Reports, from inside the loader worker, a user-init marker."""

    def __len__(self):
        return 2

    def __getitem__(self, idx):
        return {"user_init": _USER_INIT["id"]}


_USER_INIT = {"id": -1}


def _mark_user_init(worker_id):
    _USER_INIT["id"] = worker_id


def test_a_user_worker_init_fn_still_runs_in_the_workers():
    loader = build_dataloader(WorkerState(), videos_per_gpu=2, workers_per_gpu=1, dist=False,
                              worker_init_fn=_mark_user_init)
    assert next(iter(loader))["user_init"].tolist() == [0, 0]


def test_workers_do_not_hang_after_the_parent_used_opencv_threads():
    """Workers fork after OpenCV's thread pool ran in the parent (as after a single-process
    benchmark); their set-up must not touch that pool (cv2.setNumThreads deadlocked here)."""
    import cv2

    big = np.zeros((1080, 1920, 3), dtype=np.uint8)
    for _ in range(3):
        cv2.resize(big, (960, 540))
    loader = build_dataloader(WorkerState(), 2, 2, dist=False, seed=0, timeout=60)
    assert len(list(loader)) == 1


def test_collate_data_containers():
    samples = [
        {"imgs": torch.ones(2, 3), "gt_bbox": DataContainer(np.zeros((k, 2)), stack=False, cpu_only=True),
         "mask": DataContainer(torch.ones(k, k), stack=True, padding_value=-1), "name": f"v{k}", "w": 0.5}
        for k in (1, 2)
    ]
    batch = collate(samples)
    assert batch["imgs"].shape == (2, 2, 3) and batch["name"] == ["v1", "v2"]
    assert batch["w"].dtype == torch.float32 and batch["w"].tolist() == [0.5, 0.5]
    assert batch["gt_bbox"].cpu_only and [b.shape for b in batch["gt_bbox"].data] == [(1, 2), (2, 2)]
    mask = batch["mask"].data
    assert mask.shape == (2, 2, 2) and mask[0].tolist() == [[1, -1], [-1, -1]] and mask[1].tolist() == [[1, 1], [1, 1]]

    moved = batch_to_device(batch, "cpu")
    assert isinstance(moved["mask"], torch.Tensor) and isinstance(moved["gt_bbox"], list)
    assert moved["gt_bbox"][1] is batch["gt_bbox"].data[1]  # cpu_only data is left alone


def test_collate_refuses_ragged_tensors_with_a_hint():
    with pytest.raises(ValueError, match=r"cannot stack 'imgs'.*ToDataContainer"):
        collate([{"imgs": torch.zeros(2)}, {"imgs": torch.zeros(3)}])
    with pytest.raises(ValueError, match="keys"):
        collate([{"a": 1}, {"b": 1}])


def test_failure_budget_is_a_recipe_key(tmp_path):
    """`failure_budget` validates in the dataset spec and reaches the dataset."""
    from vidact.data.build import build_dataset

    ann = tmp_path / "list.txt"
    ann.write_text("a.mp4 0\nb.mp4 1\n")
    dataset = build_dataset({"type": "VideoDataset", "ann_file": str(ann), "pipeline": [], "failure_budget": 0.5})
    assert dataset.failure_budget == 0.5


def test_later_0x_options_build_from_recipe_dicts():
    # A pipeline copied from a later MMAction 0.x config builds unchanged.
    from vidact.data.build import build_pipeline

    pipeline = build_pipeline([
        {"type": "SampleFrames", "clip_len": 1, "num_clips": 3, "keep_tail_frames": True},
        {"type": "PyAVDecode", "mode": "efficient"},
        {"type": "DecordDecode", "mode": "efficient"},
        {"type": "RawFrameDecode", "decoding_backend": "pillow"},
        {"type": "Flip", "flip_ratio": 1.0, "flip_label_map": {0: 1}, "left_kp": [1], "right_kp": [2]},
        {"type": "Collect", "keys": ["label"], "meta_keys": [], "nested": True},
    ])
    sample, decode_pyav, decode_decord, raw, flip, collect = pipeline.transforms
    assert sample.keep_tail_frames and decode_pyav.mode == decode_decord.mode == "efficient"
    assert raw.decoding_backend == "pillow" and collect.nested
    assert flip.flip_label_map == {0: 1} and list(flip.left_kp) == [1] and list(flip.right_kp) == [2]
    assert collect(flip({"label": 0, "img_shape": (4, 4)})) == {"label": [1]}
