"""Reading MMAction Python configs without running them, and translating them into recipes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from vidact.errors import RecipeError
from vidact.models.build import build_model
from vidact.schemas.mmconfig import Unsupported, merge_dicts, read_mmconfig
from vidact.schemas.mmimport import import_mmconfig
from vidact.schemas.recipe import Recipe

# ---- hand-written configs in MMAction's two styles ---------------------------------------------

BASE_0X = """
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNetTSM', pretrained='torchvision://resnet18', depth=18, norm_eval=False,
                  shift_div=8, init_cfg=dict(type='Pretrained')),
    cls_head=dict(type='TSMHead', num_classes=400, in_channels=512, spatial_type='avg',
                  consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.5, init_std=0.001),
    train_cfg=None,
    test_cfg=dict(average_clips='prob'))
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
lr_config = dict(policy='step', step=[20, 40])
total_epochs = 50
checkpoint_config = dict(interval=1)
log_config = dict(interval=20, hooks=[dict(type='TextLoggerHook'), dict(type='WandbLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
"""

CHILD_0X = """
_base_ = ['base.py']
custom_imports = dict(imports=['my_project.transforms'], allow_failed_imports=False)
root = 'data/ucf101/'
num_classes = 5 * 20 + 1                          # arithmetic on literals
model = dict(cls_head=dict(num_classes=num_classes))
optimizer = dict(type='Adam', lr=1e-3, _delete_=True)   # replaces the base's SGD entirely
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
train_pipeline = [
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='MyCustomAugment', strength=3),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label']),
]
val_pipeline = train_pipeline[:1] + [dict(type='RawFrameDecode'), dict(type='CenterCrop', crop_size=224)]
data = dict(
    videos_per_gpu=4,
    workers_per_gpu=2,
    test_dataloader=dict(videos_per_gpu=1),
    train=dict(type='RawframeDataset', ann_file=root + 'train.txt', data_prefix=f'{root}rawframes',
               pipeline=train_pipeline),
    val=dict(type='RawframeDataset', ann_file=root + 'val.txt', data_prefix=root + 'rawframes',
             pipeline=val_pipeline, test_mode=True))
evaluation = dict(interval=5, metrics=['top_k_accuracy'], metric_options=dict(top_k_accuracy=dict(topk=(1, 3))))
work_dir = './work_dirs/' + 'tsm_r18_ucf101'
"""

BASE_1X = """
preprocess_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', pretrained=None, depth=18, norm_eval=False),
    cls_head=dict(type='TSNHead', num_classes=400, in_channels=512, spatial_type='avg',
                  consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.4, init_std=0.01,
                  average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', **preprocess_cfg, format_shape='NCHW'))
default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    checkpoint=dict(type='CheckpointHook', interval=1, save_best='auto'),
    visualization=dict(type='VisualizationHook', enable=False))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'))
default_scope = 'mmaction'
load_from = None
resume = False
"""

CHILD_1X = """
_base_ = 'base.py'
num_clips = 3
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=num_clips),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=25, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='TenCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs'),
]
model = dict(cls_head=dict(num_classes=7), backbone='{{_base_.model.backbone}}')
log_interval = {{_base_.default_hooks.logger.interval}}
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VideoDataset', ann_file='train.txt', data_prefix=dict(video='videos'),
                 pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=2,
    dataset=dict(type='VideoDataset', ann_file='test.txt', data_prefix=dict(video='videos'),
                 pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_begin=1, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
                     clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=5),
    dict(type='MultiStepLR', begin=0, end=100, by_epoch=True, milestones=[40, 80], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=3, max_keep_ckpts=3), logger=dict(interval=log_interval * 2))
custom_hooks = [dict(type='EMAHook')]
auto_scale_lr = dict(enable=False, base_batch_size=256)
"""


def write_config(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder / next(n for n in files if n != "base.py")


@pytest.fixture
def config_0x(tmp_path: Path) -> Path:
    return write_config(tmp_path, {"base.py": BASE_0X, "child.py": CHILD_0X})


@pytest.fixture
def config_1x(tmp_path: Path) -> Path:
    return write_config(tmp_path, {"base.py": BASE_1X, "child.py": CHILD_1X})


def skipped_paths(result) -> dict[str, str]:
    return {s.path: s.reason for s in result.skipped}


# ---- reading -----------------------------------------------------------------------------------


def test_merge_follows_mmaction_delete_semantics():
    base = {"a": {"x": 1, "y": {"p": 1}}, "b": [1, 2]}
    assert merge_dicts(base, {"a": {"y": {"q": 2}}, "b": [3]}) == {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "b": [3]}
    assert merge_dicts(base, {"a": {"_delete_": True, "z": 0}}) == {"a": {"z": 0}, "b": [1, 2]}


def test_reader_merges_bases_and_evaluates_literals(config_0x):
    config = read_mmconfig(config_0x)
    values = config.values
    assert config.files == [str(config_0x.parent / "base.py"), str(config_0x)]
    assert values["num_classes"] == 101 and values["model"]["cls_head"]["num_classes"] == 101
    assert values["model"]["cls_head"]["in_channels"] == 512  # merged, not replaced
    assert values["optimizer"] == {"type": "Adam", "lr": 1e-3}  # _delete_: the base's SGD keys are gone
    assert values["data"]["train"]["ann_file"] == "data/ucf101/train.txt"
    assert values["data"]["train"]["data_prefix"] == "data/ucf101/rawframes"  # f-string
    assert values["data"]["train"]["pipeline"][4] == {"type": "Normalize", "mean": [123.675, 116.28, 103.53],
                                                      "std": [58.395, 57.12, 57.375], "to_bgr": False}
    assert len(values["data"]["val"]["pipeline"]) == 3  # list slicing and concatenation
    assert {"root", "num_classes", "img_norm_cfg", "train_pipeline"} <= config.helpers


def test_base_references_quoted_and_unquoted(config_1x):
    values = read_mmconfig(config_1x).values
    assert values["model"]["backbone"] == {"type": "ResNet", "pretrained": None, "depth": 18, "norm_eval": False}
    assert values["log_interval"] == 20 and values["default_hooks"]["logger"]["interval"] == 40


def test_code_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    config = tmp_path / "evil.py"
    config.write_text(textwrap.dedent(f"""
        import os
        os.system('touch {marker}')
        open('{marker}', 'w')
        x = __import__('os').system('touch {marker}')
        y = (lambda: open('{marker}', 'w'))()
        z = [open('{marker}', 'w') for _ in range(3)]
        big = 2 ** 10 ** 9
        model = dict(type='Recognizer2D', hook=os.getcwd())
    """))
    loaded = read_mmconfig(config)
    assert not marker.exists()
    values = loaded.values
    assert all(isinstance(values[k], Unsupported) for k in ("os", "x", "y", "z", "big"))
    assert isinstance(values["model"]["hook"], Unsupported) and values["model"]["type"] == "Recognizer2D"
    assert [n.what.split(":")[0] for n in loaded.notes] == ["import of os not run", "statement not run",
                                                          "statement not run"]


def test_syntax_error_names_file_and_line(tmp_path):
    config = tmp_path / "broken.py"
    config.write_text("model = dict(\n    type='Recognizer2D',,\n)\n")
    with pytest.raises(RecipeError, match=rf"^{config}:2: invalid Python: "):
        read_mmconfig(config)


def test_read_base_style_is_refused_clearly(tmp_path):
    config = tmp_path / "new_style.py"
    config.write_text("from mmengine.config import read_base\nwith read_base():\n    from .._base_.models.tsm_r50 import *\n")
    with pytest.raises(RecipeError, match=r"new_style.py:2: 'with read_base\(\)'.*not supported"):
        read_mmconfig(config)


def test_missing_and_circular_bases(tmp_path):
    (tmp_path / "a.py").write_text("_base_ = 'b.py'\n")
    (tmp_path / "b.py").write_text("_base_ = ['a.py']\n")
    with pytest.raises(RecipeError, match="include each other: a.py -> b.py -> a.py"):
        read_mmconfig(tmp_path / "a.py")
    (tmp_path / "c.py").write_text("_base_ = 'nope.py'\n")
    with pytest.raises(RecipeError, match="_base_ file not found"):
        read_mmconfig(tmp_path / "c.py")


# ---- translating -------------------------------------------------------------------------------


def test_0x_config_translates_and_lists_what_it_skips(config_0x):
    result = import_mmconfig(config_0x)
    recipe = Recipe.model_validate(result.data)
    assert recipe.model.cls_head.num_classes == 101 and recipe.model.backbone.pretrained is None
    assert recipe.optimizer.type == "Adam" and recipe.optimizer.lr == 1e-3
    assert recipe.evaluation.topk == (1, 3) and recipe.evaluation.interval == 5
    assert recipe.data.test_dataloader.videos_per_gpu == 1
    assert [s.type for s in recipe.data.train.pipeline] == [
        "SampleFrames", "RawFrameDecode", "Resize", "Normalize", "FormatShape", "Collect", "ToTensor"]
    assert recipe.work_dir == "./work_dirs/tsm_r18_ucf101"
    skipped = skipped_paths(result)
    assert set(skipped) == {
        "model.backbone.pretrained", "model.backbone.init_cfg", "custom_imports",
        "data.train.pipeline[3]", "log_config.hooks[1]"}
    assert "never downloads" in skipped["model.backbone.pretrained"]
    assert "'MyCustomAugment' has no vidact counterpart" in skipped["data.train.pipeline[3]"]
    assert "custom code" in skipped["custom_imports"]


def test_1x_config_translates_layout(config_1x):
    result = import_mmconfig(config_1x)
    recipe = Recipe.model_validate(result.data)
    data = recipe.data
    assert (data.videos_per_gpu, data.workers_per_gpu, data.test_dataloader.videos_per_gpu) == (8, 2, 1)
    assert data.train.data_prefix == "videos" and data.val is None
    assert [s.type for s in data.train.pipeline][-4:] == ["Normalize", "FormatShape", "Collect", "ToTensor"]
    assert data.train.pipeline[-1].keys == ("imgs", "label") and data.test.pipeline[-1].keys == ("imgs",)
    assert data.train.pipeline[-4].mean == (123.675, 116.28, 103.53)
    assert recipe.model.test_cfg.average_clips == "prob" and recipe.model.cls_head.num_classes == 7
    assert recipe.total_epochs == 100 and recipe.evaluation.interval == 5 and recipe.evaluation.save_best == "auto"
    lr = recipe.lr_config
    assert (lr.policy, lr.step, lr.warmup, lr.warmup_iters, lr.warmup_ratio) == ("step", (40, 80), "linear", 5, 0.1)
    assert recipe.optimizer_config.grad_clip.max_norm == 40
    assert (recipe.checkpoint_config.interval, recipe.checkpoint_config.max_keep_ckpts) == (3, 3)
    assert recipe.log_config.interval == 40
    assert set(skipped_paths(result)) == {"default_hooks.visualization", "custom_hooks[0]",
                                          "train_dataloader.persistent_workers"}


def test_video_decoder_swap(config_1x):
    result = import_mmconfig(config_1x, video_decoder="pyav")
    types = [s["type"] for s in result.data["data"]["train"]["pipeline"]]
    assert types[:3] == ["PyAVInit", "SampleFrames", "PyAVDecode"]


def test_overrides_apply_after_translation(config_1x):
    result = import_mmconfig(config_1x, ["optimizer.lr=0.5", "model.backbone.pretrained=r18.pth"])
    assert result.data["optimizer"]["lr"] == 0.5 and result.data["model"]["backbone"]["pretrained"] == "r18.pth"


def test_unknown_model_type_fails_with_the_skipped_list(tmp_path):
    config = write_config(tmp_path, {"base.py": BASE_1X, "child.py": CHILD_1X + "\nmodel = dict(backbone=dict("
                                     "type='mmcls.ResNeXt', depth=101, _delete_=True))\n"})
    with pytest.raises(RecipeError) as info:
        import_mmconfig(config)
    text = str(info.value)
    assert "translated recipe is invalid" in text
    assert "model.backbone: skipped: type 'mmcls.ResNeXt' has no vidact counterpart" in text


def test_imported_recipe_builds_the_expected_model(config_1x):
    recipe = Recipe.model_validate(import_mmconfig(config_1x).data)
    state = build_model(recipe.model).state_dict()
    # ResNet-18: stem, 4 stages of 2 basic blocks, one downsample in stages 2-4; a 7-class fc
    expected = {
        "backbone.conv1.weight": (64, 3, 7, 7),
        "backbone.bn1.running_var": (64,),
        "backbone.layer1.0.conv1.weight": (64, 64, 3, 3),
        "backbone.layer2.0.downsample.0.weight": (128, 64, 1, 1),
        "backbone.layer4.1.conv2.weight": (512, 512, 3, 3),
        "cls_head.fc_cls.weight": (7, 512),
        "cls_head.fc_cls.bias": (7,),
    }
    assert {k: tuple(state[k].shape) for k in expected} == expected
    convs = [k for k in state if k.endswith(".weight") and state[k].ndim == 4]
    assert len(convs) == 1 + 8 * 2 + 3
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_spaced_and_embedded_base_references(tmp_path):
    config = write_config(tmp_path, {"base.py": "name = 'tsn'\nsizes = dict(crop=224)\n", "child.py": """
        _base_ = ['base.py']
        crop = '{{ _base_.sizes.crop }}'
        work_dir = 'work_dirs/{{_base_.name}}_ft'
        missing = '{{_base_.nope}}'
    """})
    values = read_mmconfig(config).values
    assert values["crop"] == 224 and values["work_dir"] == "work_dirs/tsn_ft"
    assert isinstance(values["missing"], Unsupported) and "not defined in the bases" in values["missing"].reason


def schedule_of(tmp_path: Path, schedulers: str) -> tuple[dict, dict[str, str]]:
    config = write_config(tmp_path, {"base.py": BASE_1X, "child.py": CHILD_1X + f"\nparam_scheduler = {schedulers}\n"})
    result = import_mmconfig(config)
    return result.data["lr_config"], skipped_paths(result)


def test_multistep_milestones_count_from_begin(tmp_path):
    # mmengine counts MultiStepLR milestones from `begin` (checked against mmengine 0.10: with
    # begin=2, milestones [3, 5] decay after epochs 5 and 7), our steps are absolute epochs
    lr, skipped = schedule_of(tmp_path, """[
        dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=10),
        dict(type='MultiStepLR', begin=10, end=150, by_epoch=True, milestones=[90, 130], gamma=0.1)]""")
    assert lr == {"warmup": "linear", "warmup_ratio": 0.1, "warmup_iters": 10, "warmup_by_epoch": True,
                  "policy": "step", "step": [100, 140], "gamma": 0.1, "by_epoch": True}
    assert "param_scheduler[1]" not in skipped


def test_cosine_after_warmup_is_listed_not_guessed(tmp_path):
    lr, skipped = schedule_of(tmp_path, """[
        dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=34),
        dict(type='CosineAnnealingLR', T_max=162, eta_min=0, by_epoch=True, begin=34, end=196)]""")
    assert lr["policy"] == "fixed" and lr["warmup_iters"] == 34
    assert "vidact's CosineAnnealing spans the whole run" in skipped["param_scheduler[1]"]
    lr, skipped = schedule_of(tmp_path, "dict(type='CosineAnnealingLR', T_max=100, eta_min=0, begin=0, end=100)")
    assert lr == {"policy": "CosineAnnealing", "by_epoch": True, "min_lr": 0} and not skipped.get("param_scheduler")


def test_known_model_differences_are_reported(tmp_path):
    csn = """
        model = dict(type='Recognizer3D',
                     backbone=dict(type='ResNet3dCSN', pretrained2d=False, pretrained=None, depth=50,
                                   bottleneck_mode='ip'),
                     cls_head=dict(type='I3DHead', num_classes=4, in_channels=2048))
        train_dataloader = dict(batch_size=2, num_workers=0)
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
        train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3)
    """
    result = import_mmconfig(write_config(tmp_path, {"csn.py": csn}))
    assert [w.path for w in result.warnings] == ["model.backbone.bottleneck_mode"]
    assert "conv2.0.bn" in result.to_yaml("csn.py")
    old_style = write_config(tmp_path, {"csn0.py": csn.replace("train_dataloader = dict(batch_size=2, num_workers=0)",
                                                                  "data = dict(videos_per_gpu=2, workers_per_gpu=0)")
                                        .replace("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))",
                                                 "optimizer = dict(type='SGD', lr=0.1)")
                                        .replace("train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3)",
                                                 "total_epochs = 3")})
    assert import_mmconfig(old_style).warnings == []  # vidact builds MMAction 0.x's ip-CSN


def test_skipped_model_settings_are_flagged(tmp_path):
    config = write_config(tmp_path, {"base.py": BASE_1X, "child.py": CHILD_1X + (
        "\nmodel = dict(backbone=dict(stage_blocks=(2, 2, 2, 2), conv1_stride_s=1))\n")})
    result = import_mmconfig(config)
    assert {"model.backbone.stage_blocks", "model.backbone.conv1_stride_s"} <= set(skipped_paths(result))
    (warning,) = result.warnings
    assert warning.path == "model"
    assert "built without model.backbone.stage_blocks, model.backbone.conv1_stride_s" in warning.reason
