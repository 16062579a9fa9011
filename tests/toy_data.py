"""The tiny training set-up the command tests share: 2 classes x 4 synthetic 32x32 videos and the toy
TSM recipe shrunk to one ResNet stage, so a 2-epoch run takes seconds."""

from __future__ import annotations

from pathlib import Path

from vidact.data.synth_video import synth_recognition

RECIPE = Path(__file__).parents[1] / "recipes" / "toy" / "tsm.yaml"


def make_tiny(root: Path) -> Path:
    synth_recognition(root, num_videos_per_class=4, classes=("left", "right"), num_frames=16, size=(32, 32))
    return root


def overrides(root: Path, *extra: str, workers: int = 0, epochs: int = 2) -> list[str]:
    """`key=value` overrides pointing every split of the toy recipe at `root` and shrinking it."""
    items = []
    for split, ann in (("train", "train"), ("val", "val"), ("test", "val")):
        items += [f"data.{split}.ann_file={root / f'{ann}_list_videos.txt'}", f"data.{split}.data_prefix={root}"]
    items += ["model.backbone.num_stages=1", "model.backbone.out_indices=[0]", "model.backbone.strides=[1]",
              "model.backbone.dilations=[1]", "model.cls_head.in_channels=64", "model.cls_head.num_classes=2",
              "data.videos_per_gpu=2", f"data.workers_per_gpu={workers}", f"total_epochs={epochs}",
              "log_config.interval=1"]
    return items + list(extra)


def set_args(root: Path, *extra: str, **kwargs: int) -> list[str]:
    """`overrides(...)` as `--set` command-line arguments."""
    return [arg for item in overrides(root, *extra, **kwargs) for arg in ("--set", item)]
