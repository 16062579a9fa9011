"""BMN inference: a recipe's data split -> post-processed proposals -> an ActivityNet results file.
What `vidact proposals bmn` calls.

Every video of the split is scored with the recipe's test pipeline (the split's annotations and
features, `data.test`'s steps), so any split can be scored; bad input raises a `VidactError` that
names the file and the video.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from vidact.errors import InputError, RecipeError
from vidact.engine.bsn import ModelMismatchError, load_localizer  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)

Progress = Callable[[int, int], Any]
"""Called with (videos done, videos to do)."""


def load_bmn(recipe: Any, checkpoint: str | os.PathLike) -> torch.nn.Module:
    """The recipe's BMN with the checkpoint's weights, in eval mode (`load_localizer` for BMN).

    Raises:
        RecipeError: the recipe's model is not a BMN.
        ModelMismatchError: the checkpoint was trained for another model (exit code 2).
        CheckpointError: unreadable or not a checkpoint.
    """
    return load_localizer(recipe, checkpoint, "BMN")


def split_dataset(recipe: Any, split: str) -> Any:
    """`data.<split>`'s videos and features under the test pipeline (`data.test`, else `data.val`).

    Raises:
        RecipeError: unknown split, or the recipe lacks that section or a test/val pipeline.
    """
    from vidact.data.build import build_dataset

    if split not in ("train", "val", "test"):
        raise RecipeError(f"unknown split {split!r}; use train, val or test")
    spec = getattr(recipe.data, split)
    protocol = recipe.data.test or recipe.data.val
    if spec is None or protocol is None:
        raise RecipeError(f"the recipe has no data.{split} section" if spec is None
                          else "the recipe has no data.test (or data.val) pipeline to score with")
    while hasattr(spec, "dataset"):  # RepeatDataset
        spec = spec.dataset
    while hasattr(protocol, "dataset"):
        protocol = protocol.dataset
    return build_dataset(spec.model_copy(update={"pipeline": protocol.pipeline, "test_mode": True}))


class _CheckedVideos(Dataset):
    """The samples of `dataset` at `indices`, each checked to hold a (feat_dim, temporal_dim) feature."""

    def __init__(self, dataset: Any, indices: Sequence[int], feat_dim: int, temporal_dim: int) -> None:
        self.dataset, self.indices = dataset, list(indices)
        self.shape = (feat_dim, temporal_dim)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Any:
        idx = self.indices[i]
        sample = self.dataset[idx]
        shape = tuple(sample["raw_feature"].shape)
        if shape != self.shape:
            path = os.path.join(str(self.dataset.data_prefix), self.dataset.video_infos[idx]["video_name"] + ".csv")
            raise InputError(f"{path}: expected {self.shape[1]} rows x {self.shape[0]} feature columns (the "
                             f"recipe's temporal_dim x feat_dim), got {shape[1]} rows x {shape[0]} columns")
        return sample


def _check_durations(dataset: Any, indices: Sequence[int]) -> None:
    for idx in indices:
        info = dataset.video_infos[idx]
        for key in ("duration_second", "duration_frame"):
            if not float(info[key]) > 0:
                raise InputError(f"{dataset.ann_file}: [{info['video_name']!r}]: {key} is {info[key]}; "
                                 "proposals in seconds need a positive duration")


def bmn_proposals(recipe: Any, checkpoint: str | os.PathLike, out: str | os.PathLike, *, split: str = "test",
                  shard: tuple[int, int] | None = None, workers: int = 0, batch_size: int | None = None,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Score a split with a BMN checkpoint and write `{"version", "results", "external_data"}` (atomically).

    Args:
        recipe: a validated BMN recipe.
        checkpoint: a checkpoint trained with that recipe.
        out: the results JSON (segments in seconds, best score first; `vidact eval --metric AR@AN`).
        split: 'train', 'val' or 'test'.
        shard: `(I, N)`: only every N-th video from I of the videos sorted by name.
        workers: data loader processes (0: load in this process).
        batch_size: videos per forward pass (default: the split's loader setting).
        progress: called with (done, total) after each batch.

    Returns:
        `{"out", "split", "checkpoint", "num_videos", "num_proposals", "shard"}`.
    """
    from vidact.data.build import collate

    model = load_bmn(recipe, checkpoint)
    dataset = split_dataset(recipe, split)
    names = [info["video_name"] for info in dataset.video_infos]
    indices = sorted(range(len(names)), key=lambda i: names[i])
    if shard is not None:
        indices = indices[shard[0]::shard[1]]
    _check_durations(dataset, indices)
    loader_cfg = recipe.data.test_dataloader if split == "test" else recipe.data.val_dataloader
    batch = batch_size or loader_cfg.videos_per_gpu or recipe.data.videos_per_gpu
    loader = DataLoader(_CheckedVideos(dataset, indices, model.feat_dim, model.tscale), batch_size=batch,
                        shuffle=False, num_workers=workers, collate_fn=collate)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    results: list[dict[str, Any]] = []
    with torch.no_grad():
        for batch_data in loader:
            raw_feature = batch_data["raw_feature"].to(device)
            results.extend(model(raw_feature, video_meta=batch_data["video_meta"], return_loss=False))
            if progress is not None:
                progress(len(results), len(indices))
    by_name = {r["video_name"]: r for r in results}
    results = [by_name[names[i]] for i in sorted(indices)]  # annotation order
    dataset.dump_results(results, out, "json")
    return {"out": os.fspath(out), "split": split, "checkpoint": os.fspath(checkpoint), "num_videos": len(results),
            "num_proposals": sum(len(r["proposal_list"]) for r in results),
            "shard": f"{shard[0]}/{shard[1]}" if shard else None}
