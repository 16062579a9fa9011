"""BSN inference stages: TEM curves to one CSV per video, and PEM scoring + post-processing to an
ActivityNet results file. What `vidact proposals tem|pem` and the `run` chain call.

Both take a validated `Recipe` whose model is a TEM / PEM, score one data split in dataset order
and skip nothing silently: a feature file of the wrong size, a checkpoint of another model or a
missing file raise a `VidactError` naming the file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from vidact.errors import CheckpointError, InputError, RecipeError

log = logging.getLogger(__name__)

Progress = Callable[[int, int], Any]
"""Called with (videos done, videos to do)."""


def split_spec(recipe: Any, split: str) -> Any:
    """The recipe's `data.<split>` dataset spec.

    Raises:
        RecipeError: an unknown split or a recipe without that section.
    """
    if split not in ("train", "val", "test"):
        raise RecipeError(f"unknown split {split!r}; use train, val or test")
    spec = getattr(recipe.data, split)
    if spec is None:
        raise RecipeError(f"the recipe has no data.{split} section")
    return spec


def select_videos(names: Sequence[str], shard: tuple[int, int] | None) -> list[int]:
    """Indices of shard I of N of the videos sorted by name (every N-th from I): shards partition
    the videos and depend only on the annotation file."""
    order = sorted(range(len(names)), key=lambda i: names[i])
    if shard is None:
        return order
    index, count = shard
    return order[index::count]


def load_localizer(recipe: Any, checkpoint: str | os.PathLike, model_type: str) -> torch.nn.Module:
    """The recipe's localizer (TEM, PEM, BMN) with a checkpoint's weights, in eval mode.

    Raises:
        RecipeError: the recipe's model is not a `model_type`.
        ModelMismatchError: the checkpoint was trained for another model (exit code 2).
        CheckpointError: unreadable or not a checkpoint (named with the file).
    """
    from vidact.engine.predict import load_model

    if recipe.model.type != model_type:
        raise RecipeError(f"this command needs a {model_type} recipe; model.type is {recipe.model.type}")
    try:
        return load_model(recipe, checkpoint)
    except CheckpointError as exc:
        message = str(exc) if str(checkpoint) in str(exc) else f"{checkpoint}: {exc}"
        error = ModelMismatchError if "disagree" in message or "does not fit" in message else CheckpointError
        raise error(message, hint=exc.hint) from None


class ModelMismatchError(CheckpointError):
    """A checkpoint trained for another model than the recipe's: bad input, exit code 2."""

    exit_code = 2


class _CheckedFeatures(Dataset):
    """The samples of `dataset` at `indices`, each checked to hold a (feat_dim, temporal_dim) feature."""

    def __init__(self, dataset: Any, indices: Sequence[int], feat_dim: int, temporal_dim: int) -> None:
        self.dataset, self.indices = dataset, list(indices)
        self.feat_dim, self.temporal_dim = feat_dim, temporal_dim

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Any:
        idx = self.indices[i]
        sample = self.dataset[idx]
        shape = tuple(sample["raw_feature"].shape)
        if shape != (self.feat_dim, self.temporal_dim):
            info = self.dataset.video_infos[idx]
            path = os.path.join(str(self.dataset.data_prefix), info["video_name"] + ".csv")
            raise InputError(f"{path}: expected {self.temporal_dim} rows x {self.feat_dim} feature columns "
                             f"(the recipe's temporal_dim x tem_feat_dim), got {shape[1]} rows x {shape[0]} columns")
        return sample


def tem_inference(recipe: Any, checkpoint: str | os.PathLike, split: str, out_dir: str | os.PathLike, *,
                  shard: tuple[int, int] | None = None, workers: int = 0, batch_size: int | None = None,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Write `<out_dir>/<video_name>.csv` (TEM action/start/end curves) for each video of `data.<split>`.

    Videos whose CSV exists are skipped, so a killed run resumes; each file is written atomically.

    Args:
        recipe: a validated TEM recipe.
        checkpoint: a TEM checkpoint trained with that recipe.
        split: 'train', 'val' or 'test'.
        out_dir: the folder of TEM CSVs (created).
        shard: (I, N): only shard I of N of the videos sorted by name.
        workers: data loader worker processes.
        batch_size: videos per forward pass (default: the recipe's test/val loader batch).
        progress: called with (done, to do) after each batch.

    Returns:
        `{"split", "out_dir", "videos", "written", "skipped"}`.
    """
    from vidact.data.build import batch_to_device, build_dataset, collate
    from vidact.io.proposals import write_tem_results

    dataset = build_dataset(split_spec(recipe, split), {"test_mode": True})
    model = load_localizer(recipe, checkpoint, "TEM")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [info["video_name"] for info in dataset.video_infos]
    chosen = select_videos(names, shard)
    todo = [i for i in chosen if not (out_dir / f"{names[i]}.csv").exists()]
    data = recipe.data
    batch = batch_size or data.test_dataloader.videos_per_gpu or data.videos_per_gpu
    loader = DataLoader(_CheckedFeatures(dataset, todo, model.feat_dim, model.temporal_dim), batch_size=batch,
                        shuffle=False, num_workers=workers, collate_fn=collate)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    done = 0
    with torch.no_grad():
        for samples in loader:
            samples = batch_to_device(samples, device)
            for video_name, table in model(**samples, return_loss=False):
                write_tem_results(out_dir / f"{video_name}.csv", table)
                done += 1
            if progress is not None:
                progress(done, len(todo))
    log.debug("TEM %s: %d written, %d already there", split, len(todo), len(chosen) - len(todo))
    return {"split": split, "out_dir": str(out_dir), "videos": len(chosen), "written": len(todo),
            "skipped": len(chosen) - len(todo)}


def pem_inference(recipe: Any, checkpoint: str | os.PathLike, out: str | os.PathLike, *, split: str = "test",
                  shard: tuple[int, int] | None = None, workers: int = 0,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Score `data.<split>`'s proposals with PEM, fuse with the boundary scores, soft-NMS, and write
    an ActivityNet results file `{"version", "results": {video: [{"segment", "score"}]},
    "external_data"}` with segments in seconds (atomically).

    Args:
        recipe: a validated PEM recipe (its split's pipeline loads proposals and BSP features).
        checkpoint: a PEM checkpoint trained with that recipe.
        out: the results JSON.
        split: 'train', 'val' or 'test'.
        shard: (I, N): only shard I of N of the videos sorted by name.
        workers: data loader worker processes.
        progress: called with (done, to do) after each batch.

    Returns:
        `{"split", "out", "videos", "proposals", "metrics"}`; `metrics` (AR@AN, auc) against the
        split's annotations when the whole split was scored, else {}.
    """
    from vidact.data.build import build_dataset, collate
    from vidact.engine.trainer import predict_scores

    dataset = build_dataset(split_spec(recipe, split), {"test_mode": True})
    model = load_localizer(recipe, checkpoint, "PEM")
    names = [info["video_name"] for info in dataset.video_infos]
    chosen = select_videos(names, shard)
    subset = torch.utils.data.Subset(dataset, chosen)
    loader = _Counting(DataLoader(subset, batch_size=1, shuffle=False, num_workers=workers, collate_fn=collate),
                       progress)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    results = predict_scores(model.to(device), loader, device)
    results = list(results) if len(results) else []
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    dataset.dump_results(results, out, "json")
    metrics: dict[str, float] = {}
    if shard is None and len(results) == len(dataset):
        by_name = {r["video_name"]: r for r in results}
        ordered = [by_name[name] for name in names]
        metrics = {k: float(v) for k, v in dataset.evaluate(ordered).items()}
    return {"split": split, "out": str(out), "videos": len(results),
            "proposals": sum(len(r["proposal_list"]) for r in results), "metrics": metrics}


class _Counting:
    """A loader that reports (batches done, batches) to `progress` as it is iterated."""

    def __init__(self, loader: DataLoader, progress: Progress | None) -> None:
        self.loader, self.progress = loader, progress

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Any:
        for done, batch in enumerate(self.loader, start=1):
            yield batch
            if self.progress is not None:
                self.progress(done, len(self.loader))
