"""FormatShape layouts, Collect, tensor conversion, DataContainer and Compose."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidact.data.pipelines import (
    CenterCrop,
    Collect,
    Compose,
    DataContainer,
    FormatShape,
    ImageToTensor,
    Normalize,
    SampleFrames,
    ToDataContainer,
    ToTensor,
    Transpose,
    to_tensor,
)


def _indexed_frames(m: int, h: int = 3, w: int = 4, c: int = 2) -> np.ndarray:
    """imgs[i, y, x, ch] encodes its own coordinates, so layouts can be checked element by element."""
    i, y, x, ch = np.meshgrid(np.arange(m), np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    return (i * 1000 + y * 100 + x * 10 + ch).astype(np.float32)


def test_format_ncthw():
    crops, clips, clip_len = 2, 3, 4
    imgs = _indexed_frames(crops * clips * clip_len)
    out = FormatShape("NCTHW")({"imgs": imgs, "num_clips": clips, "clip_len": clip_len})
    assert out["imgs"].shape == (crops * clips, 2, clip_len, 3, 4) == out["input_shape"]
    n, c, t, y, x = 4, 1, 2, 2, 3  # crop 1, clip 1
    assert out["imgs"][n, c, t, y, x] == imgs[n * clip_len + t, y, x, c]
    assert out["imgs"].flags.c_contiguous


def test_format_nchw_and_flow():
    imgs = _indexed_frames(6)
    out = FormatShape("NCHW")({"imgs": imgs})
    np.testing.assert_array_equal(out["imgs"], imgs.transpose(0, 3, 1, 2))

    clips, clip_len = 3, 2
    out = FormatShape("NCHW_Flow")({"imgs": imgs, "num_clips": clips, "clip_len": clip_len})
    assert out["imgs"].shape == (clips, clip_len * 2, 3, 4)
    n, t, c = 2, 1, 1
    np.testing.assert_array_equal(out["imgs"][n, t * 2 + c], imgs[n * clip_len + t, :, :, c])


def test_format_nptchw():
    proposals, clips, clip_len = 2, 3, 2
    imgs = _indexed_frames(proposals * clips * clip_len)
    out = FormatShape("NPTCHW")(
        {"imgs": imgs, "num_clips": clips, "clip_len": clip_len, "num_proposals": proposals}
    )
    assert out["imgs"].shape == (proposals, clips * clip_len, 2, 3, 4)
    np.testing.assert_array_equal(out["imgs"][1, 4], imgs[1 * 6 + 4].transpose(2, 0, 1))


def test_format_errors():
    with pytest.raises(ValueError, match="invalid"):
        FormatShape("NTHWC")
    with pytest.raises(KeyError, match="num_clips"):
        FormatShape("NCTHW")({"imgs": _indexed_frames(2)})


def test_collect_keeps_keys_and_gathers_meta():
    results = {"imgs": 1, "label": 3, "filename": "a.mp4", "img_shape": (2, 2), "extra": 0}
    data = Collect(["imgs", "label"], meta_keys=["filename", "img_shape"])(results)
    assert data == {"imgs": 1, "label": 3, "img_meta": {"filename": "a.mp4", "img_shape": (2, 2)}}
    assert Collect(["imgs"], meta_keys=())(results) == {"imgs": 1}
    assert set(Collect(["imgs"], meta_keys=["label"], meta_name="meta")(results)) == {"imgs", "meta"}
    with pytest.raises(KeyError, match="pad_shape"):
        Collect(["imgs"])(results)  # the default meta keys include ones this dict lacks


def test_collect_nested_wraps_every_value_in_a_list():
    # Later 0.x: nested=True turns each collected value (meta entry included) into [value].
    results = {"imgs": 1, "label": 3, "filename": "a.mp4"}
    data = Collect(["imgs", "label"], meta_keys=["filename"], nested=True)(results)
    assert data == {"imgs": [1], "label": [3], "img_meta": [{"filename": "a.mp4"}]}
    assert Collect(["imgs"], meta_keys=(), nested=False)(results) == {"imgs": 1}
    with pytest.raises(TypeError, match="keys must be a list"):
        Collect("imgs")


def test_to_tensor_conversions():
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = to_tensor(arr)
    assert t.dtype == torch.float32 and t.data_ptr() == arr.__array_interface__["data"][0]  # shared
    assert to_tensor(arr[:, ::-1]).tolist() == arr[:, ::-1].tolist()  # negative strides copied
    assert to_tensor([1, 2]).tolist() == [1, 2]
    assert to_tensor(3).dtype == torch.int64 and to_tensor(3).shape == (1,)
    assert to_tensor(np.int64(3)).tolist() == [3]
    assert to_tensor(0.5).dtype == torch.float32 and to_tensor(0.5).shape == (1,)
    assert to_tensor(t) is t
    with pytest.raises(TypeError):
        to_tensor("text")


def test_tensor_steps():
    results = {"imgs": np.zeros((4, 5, 3), dtype=np.uint8), "label": 2, "x": np.zeros((2, 3, 4))}
    results = ToTensor(["label"])(results)
    results = ImageToTensor(["imgs"])(results)
    results = Transpose(["x"], order=(2, 0, 1))(results)
    assert results["label"].tolist() == [2]
    assert isinstance(results["imgs"], torch.Tensor) and results["imgs"].shape == (3, 4, 5)
    assert results["x"].shape == (4, 2, 3)


def test_to_data_container():
    results = {"gt_bbox": np.zeros((3, 2)), "imgs": 1}
    fields = ({"key": "gt_bbox", "stack": False}, {"key": "imgs", "stack": True, "cpu_only": False})
    out = ToDataContainer(fields)(results)
    assert isinstance(out["gt_bbox"], DataContainer)
    assert out["gt_bbox"].stack is False and out["imgs"].stack is True
    assert out["gt_bbox"].cpu_only is False and out["gt_bbox"].padding_value == 0 and out["gt_bbox"].pad_dims == 2
    assert fields[0] == {"key": "gt_bbox", "stack": False}  # the spec is not consumed


def test_compose_runs_in_order_and_stops_on_none():
    pipeline = Compose([lambda r: {**r, "a": 1}, lambda r: {**r, "b": r["a"] + 1}])
    assert pipeline({}) == {"a": 1, "b": 2}
    assert Compose([lambda r: None, lambda r: 1 / 0])({}) is None
    with pytest.raises(TypeError):
        Compose([42])
    built = Compose([{"type": "CenterCrop", "crop_size": 2}], build_step=lambda d: CenterCrop(d["crop_size"]))
    assert isinstance(built.transforms[0], CenterCrop)
    assert "CenterCrop(crop_size=(2, 2)" in repr(built)


def test_compose_builds_config_dicts_through_the_registry_as_the_reference():
    # Reference: Compose([dict(type='SampleFrames', ...), callable]) builds dicts from PIPELINES.
    pipeline = Compose([dict(type="SampleFrames", clip_len=2, num_clips=2, test_mode=True),
                        lambda r: {**r, "seen": True}])
    assert isinstance(pipeline.transforms[0], SampleFrames)
    out = pipeline({"total_frames": 10, "start_index": 0})
    assert out["frame_inds"].tolist() == [2, 3, 6, 7] and out["seen"]


def test_compose_names_an_unknown_type_and_the_closest_known_ones():
    with pytest.raises(ValueError, match=r"transforms\[1\].type: unknown 'SampleFrame'; did you mean 'SampleFrames'"):
        Compose([lambda r: r, {"type": "SampleFrame", "clip_len": 2}])


def test_tsn_style_pipeline_end_to_end():
    frames = np.random.randint(0, 256, size=(100, 16, 20, 3)).astype(np.uint8)
    pipeline = Compose(
        [
            SampleFrames(clip_len=1, num_clips=3, test_mode=True),
            lambda r: {**r, "imgs": frames[r["frame_inds"]], "original_shape": (16, 20), "img_shape": (16, 20)},
            CenterCrop(12),
            Normalize(mean=[128, 128, 128], std=[64, 64, 64]),
            FormatShape("NCHW"),
            Collect(["imgs", "label"], meta_keys=[]),
            ToTensor(["imgs", "label"]),
        ]
    )
    data = pipeline({"total_frames": 100, "start_index": 0, "label": 4, "modality": "RGB"})
    assert data["imgs"].shape == (3, 3, 12, 12) and data["imgs"].dtype == torch.float32
    assert data["label"].tolist() == [4]
