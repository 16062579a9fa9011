"""The spec models: family tables, reference defaults, multi-shape fields and cross-field checks."""

from __future__ import annotations

import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from vidact.schemas import _types, data, model, optim
from vidact.schemas.recipe import FAMILIES, Recipe, spec_names

REFERENCE_PIPELINES = """SampleFrames DenseSampleFrames UntrimmedSampleFrames SampleProposalFrames PyAVInit
PyAVDecode OpenCVInit OpenCVDecode DecordInit DecordDecode RawFrameDecode FrameSelector Resize RandomCrop
RandomResizedCrop MultiScaleCrop CenterCrop ThreeCrop TenCrop MultiGroupCrop Flip Normalize Fuse
FormatShape Collect ToTensor ImageToTensor Transpose ToDataContainer LoadLocalizationFeature
GenerateLocalizationLabels LoadProposals""".split()


def all_spec_classes() -> set[type[BaseModel]]:
    found, todo = set(), [_types.Spec]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


# ---- families ----------------------------------------------------------------------------------


def test_spec_names_per_family():
    assert spec_names("pipelines") == sorted(REFERENCE_PIPELINES)
    assert spec_names("models") == ["BMN", "PEM", "Recognizer2D", "Recognizer3D", "SSN", "TEM"]
    assert spec_names("backbones") == [
        "ResNet", "ResNet2Plus1d", "ResNet3d", "ResNet3dCSN", "ResNet3dSlowFast", "ResNet3dSlowOnly", "ResNetTSM"]
    assert {"TSNHead", "TSMHead", "I3DHead", "SlowFastHead"} <= set(spec_names("heads"))
    assert {"CrossEntropyLoss", "NLLLoss", "BCELossWithLogits"} <= set(spec_names("losses"))
    assert spec_names("datasets") == [
        "ActivityNetDataset", "RawframeDataset", "RepeatDataset", "SSNDataset", "VideoDataset"]
    assert spec_names("optimizers") == ["Adam", "AdamW", "CopyOfSGD", "RMSprop", "SGD"]
    assert spec_names("lr_policies") == ["CosineAnnealing", "fixed", "step"]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_families_are_sorted_unique_and_tagged(family):
    names = spec_names(family)
    assert names == sorted(set(names)) and names
    for spec in FAMILIES[family]:
        assert issubclass(spec, _types.Spec)


def test_unknown_family_lists_known():
    with pytest.raises(KeyError, match="known: models, backbones"):
        spec_names("hooks")


@pytest.mark.parametrize("spec", sorted(all_spec_classes(), key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_spec_forbids_extra_keys_and_is_frozen(spec):
    assert spec.model_config.get("extra") == "forbid"
    assert spec.model_config.get("frozen") is True


def test_every_component_has_a_one_name_type_literal():
    for specs in FAMILIES.values():
        for spec in specs:
            key = "policy" if spec in FAMILIES["lr_policies"] else "type"
            annotation = spec.model_fields[key].annotation
            assert typing.get_origin(annotation) is typing.Literal and len(typing.get_args(annotation)) == 1
            assert next(iter(spec.model_fields)) == key, f"{spec.__name__}: `{key}` should come first"


# ---- reference defaults ------------------------------------------------------------------------


def test_reference_defaults():
    frames = data.SampleFramesSpec(type="SampleFrames", clip_len=1)
    assert (frames.frame_interval, frames.num_clips, frames.out_of_bound_opt) == (1, 1, "loop")
    crop = data.RandomResizedCropSpec(type="RandomResizedCrop")
    assert crop.area_range == (0.08, 1.0) and crop.aspect_ratio_range == pytest.approx((3 / 4, 4 / 3))
    assert data.CollectSpec(type="Collect", keys=["imgs"]).meta_name == "img_meta"
    rawframes = data.RawframeDatasetSpec(type="RawframeDataset", ann_file="a", pipeline=[])
    assert rawframes.filename_tmpl == "img_{:05}.jpg" and rawframes.start_index == 1
    assert data.VideoDatasetSpec(type="VideoDataset", ann_file="a", pipeline=[]).start_index == 0
    assert data.UntrimmedSampleFramesSpec(type="UntrimmedSampleFrames").frame_interval == 16
    head = model.TSMHeadSpec(type="TSMHead", num_classes=4, in_channels=8)
    assert (head.dropout_ratio, head.init_std, head.num_segments) == (0.8, 0.001, 8)
    assert head.loss_cls.type == "CrossEntropyLoss"
    r3d = model.ResNet3dSpec(type="ResNet3d", depth=50, pretrained=None)
    assert r3d.conv1_kernel == (5, 7, 7) and r3d.norm_cfg.type == "BN3d" and r3d.inflate_style == "3x1x1"
    slowfast = model.ResNet3dSlowFastSpec(type="ResNet3dSlowFast", pretrained=None)
    assert slowfast.slow_pathway.lateral and slowfast.fast_pathway.base_channels == 8


def test_resnet3d_requires_pretrained_key_like_the_reference():
    with pytest.raises(ValidationError, match="pretrained"):
        model.ResNet3dSpec(type="ResNet3d", depth=50)


def test_specs_are_frozen():
    frames = data.SampleFramesSpec(type="SampleFrames", clip_len=1)
    with pytest.raises(ValidationError):
        frames.clip_len = 2


# ---- multi-shape fields ------------------------------------------------------------------------


@given(st.one_of(st.integers(1, 4096), st.tuples(st.integers(1, 4096), st.integers(1, 4096))))
def test_crop_size_accepts_int_or_pair(size):
    spec = data.CenterCropSpec(type="CenterCrop", crop_size=list(size) if isinstance(size, tuple) else size)
    assert spec.crop_size == size


@pytest.mark.parametrize("bad", ["224px", "224", [224], [224, 224, 3], [0, 224], -1, True, 22.4, None])
def test_crop_size_rejects_with_one_message(bad):
    with pytest.raises(ValidationError) as info:
        data.CenterCropSpec(type="CenterCrop", crop_size=bad)
    (error,) = info.value.errors()
    assert error["msg"].startswith("expected an int or [w, h], got ")


@pytest.mark.parametrize(("scale", "expected"), [(0.5, 0.5), ([-1, 256], (-1, 256)), ([340, -1], (340, -1))])
def test_resize_scale_forms(scale, expected):
    assert data.ResizeSpec(type="Resize", scale=scale).scale == expected


@pytest.mark.parametrize("bad", [256, [-1, -1], [0, 256], [1.5, 2], "256"])
def test_resize_scale_rejects(bad):
    with pytest.raises(ValidationError, match="expected a float factor"):
        data.ResizeSpec(type="Resize", scale=bad)


def test_resize_exact_size_needs_both_sides():
    data.ResizeSpec(type="Resize", scale=[224, 224], keep_ratio=False)
    with pytest.raises(ValidationError, match="keep_ratio: false needs scale as"):
        data.ResizeSpec(type="Resize", scale=[-1, 256], keep_ratio=False)


def test_stage_flags_per_block_must_match_depth():
    inflate = [[1, 1, 1], [1, 0, 1, 0], [1, 0, 1, 0, 1, 0], [0, 1, 0]]
    spec = model.ResNet3dSpec(type="ResNet3d", depth=50, pretrained=None, inflate=inflate)
    assert spec.inflate[1] == (1, 0, 1, 0)
    with pytest.raises(ValidationError, match=r"inflate\[1\] has 3 flags but stage 1 of a depth-50 network has 4"):
        model.ResNet3dSpec(type="ResNet3d", depth=50, pretrained=None, inflate=[1, [1, 0, 1], 1, 1])
    with pytest.raises(ValidationError, match="one 0/1 flag per stage"):
        model.ResNet3dSpec(type="ResNet3d", depth=50, pretrained=None, inflate=[1, 2, 1, 1])


def test_lr_step_accepts_int_or_increasing_list():
    assert optim.StepLrSpec(policy="step", step=30).step == 30
    assert optim.StepLrSpec(policy="step", step=[40, 80]).step == (40, 80)
    with pytest.raises(ValidationError, match="strictly increasing"):
        optim.StepLrSpec(policy="step", step=[80, 40])


# ---- cross-field checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: model.ResNetSpec(type="ResNet", depth=50, num_stages=3), r"out_indices \[3\] must be <"),
        (lambda: model.ResNetSpec(type="ResNet", depth=50, strides=[1, 2]), "strides has 2 entries"),
        (lambda: model.ResNet2Plus1dSpec(type="ResNet2Plus1d", depth=34, pretrained=None, pretrained2d=False),
         "needs conv_cfg: {type: Conv2plus1d}"),
        (lambda: model.ResNet3dSlowOnlySpec(type="ResNet3dSlowOnly", depth=50, pretrained=None, lateral=True),
         "lateral must be false"),
        (lambda: data.NormalizeSpec(type="Normalize", mean=[1, 2, 3], std=[1, 2]), "mean has 3 values"),
        (lambda: data.VideoDatasetSpec(type="VideoDataset", ann_file="a", pipeline=[], multi_class=True),
         "multi_class: true needs num_classes"),
        (lambda: optim.SGDSpec(type="SGD", lr=0.1, paramwise_cfg={"fc_lr5": True}), "only applies with"),
        (lambda: optim.FixedLrSpec(policy="fixed", warmup="linear"), "needs warmup_iters > 0"),
        (lambda: optim.CosineAnnealingLrSpec(policy="CosineAnnealing", min_lr=0, min_lr_ratio=0.1), "one of"),
    ],
)
def test_reference_asserts_fail_at_validation(build, message):
    with pytest.raises(ValidationError, match=message):
        build()


def test_recognizer_checks_backbone_dimensionality():
    head = {"type": "I3DHead", "num_classes": 4, "in_channels": 2048}
    r3d = {"type": "ResNet3d", "depth": 50, "pretrained": None}
    model.Recognizer3DSpec(type="Recognizer3D", backbone=r3d, cls_head=head)
    with pytest.raises(ValidationError, match="Recognizer2D needs a 2D backbone"):
        model.Recognizer2DSpec(type="Recognizer2D", backbone=r3d, cls_head=head)
    with pytest.raises(ValidationError, match="Recognizer3D needs a 3D backbone"):
        model.Recognizer3DSpec(type="Recognizer3D", backbone={"type": "ResNet", "depth": 50}, cls_head=head)


def test_to_plain_round_trips(minimal):
    recipe = Recipe.model_validate(minimal)
    plain = recipe.to_plain()
    assert Recipe.model_validate(plain) == recipe
    assert list(plain)[:5] == ["model", "data", "optimizer", "optimizer_config", "lr_config"]
    assert plain["data"]["train"]["pipeline"][3] == {"type": "CenterCrop", "crop_size": 224, "lazy": False}


def test_evaluation_metrics_accept_one_name(minimal):
    recipe = Recipe.model_validate({**minimal, "evaluation": {"metrics": "mean_class_accuracy", "topk": 3}})
    assert recipe.evaluation.metrics == ("mean_class_accuracy",) and recipe.evaluation.topk == (3,)


# ---- the later MMAction 0.x options ------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "cfg"),
    [
        (data.SampleFramesSpec, {"type": "SampleFrames", "clip_len": 1, "keep_tail_frames": True}),
        (data.FlipSpec, {"type": "Flip", "flip_label_map": {86: 87, 87: 86}, "left_kp": [1, 3], "right_kp": [2, 4]}),
        (data.PyAVDecodeSpec, {"type": "PyAVDecode", "mode": "efficient"}),
        (data.DecordDecodeSpec, {"type": "DecordDecode", "mode": "efficient"}),
        (data.RawFrameDecodeSpec, {"type": "RawFrameDecode", "decoding_backend": "turbojpeg"}),
        (data.RawFrameDecodeSpec, {"type": "RawFrameDecode", "decoding_backend": "pillow"}),
        (data.CollectSpec, {"type": "Collect", "keys": ["imgs"], "nested": True}),
    ],
)
def test_later_0x_options_validate(spec, cfg):
    built = spec.model_validate(cfg)
    for key, value in cfg.items():
        got = getattr(built, key)
        assert (list(got) if isinstance(got, tuple) else got) == value


def test_flip_joint_lists_go_together():
    with pytest.raises(ValidationError, match="left_kp and right_kp go together"):
        data.FlipSpec(type="Flip", left_kp=[1])
    with pytest.raises(ValidationError, match="left_kp has 2 joints but right_kp has 1"):
        data.FlipSpec(type="Flip", left_kp=[1, 3], right_kp=[2])


@pytest.mark.parametrize("top_k", [0, -1, 300])
def test_ssn_evaluater_top_k_zero_or_less_is_accepted(top_k):
    # The reference's results_to_detections treats top_k <= 0 as "keep every detection".
    assert data.SSNEvaluaterSpec(top_k=top_k).top_k == top_k
