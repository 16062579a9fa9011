"""Top-k labels for individual video files with a trained recognizer: what `vidact predict` calls.

Each file goes through the recipe's test pipeline (clips, crops, normalisation) exactly as a
`data.test` sample would, so its scores equal the row `vidact test` writes for the same video.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vidact.errors import CheckpointError, DecodeError, InputError, RecipeError
from vidact.evaluation.recognition import softmax
from vidact.data.annotations.lists import read_class_names

log = logging.getLogger(__name__)

CLASSES_FILE = "classes.txt"
"""The class-name file `vidact dataset build` / `dataset synth` write beside the annotation lists."""

_RECOGNIZERS = ("Recognizer2D", "Recognizer3D")
_NO_LABEL = -1  # the test pipeline may Collect 'label'; a bare video file has none


def predict_videos(recipe: Any, checkpoint: str | os.PathLike, videos: Sequence[str | os.PathLike], *,
                   topk: int = 5, class_names: Sequence[str] | None = None,
                   classes_file: str | os.PathLike | None = None) -> dict[str, Any]:
    """Score video files with a recognizer checkpoint and return each one's top-k labels.

    Args:
        recipe: a validated `Recipe` with a recognizer model and a `VideoDataset` `data.test`
            (or `data.val`) whose pipeline is applied to every video.
        checkpoint: a checkpoint written by `vidact train` for this recipe's model.
        videos: video files, scored in this order.
        topk: labels per video (at most the number of classes).
        class_names: names in label order; None reads `classes_file`, else the `classes.txt`
            beside the test split's ann_file when it has one name per class, else no names.
        classes_file: a file with one class name per line (label = line number).

    Returns:
        `{"checkpoint", "num_classes", "topk", "score_type", "classes_file", "num_failed",
        "videos"}`. `score_type` is 'prob' when the model averages clip probabilities
        (`test_cfg.average_clips: prob`), else 'softmax' (a softmax of the averaged scores).
        Each `videos` entry is `{"path", "ok": True, "predictions": [{"label", "name", "score"},
        ...]}` sorted by score, descending, or `{"path", "ok": False, "error"}` for a video that
        cannot be decoded.

    Raises:
        InputError: a video or the classes file is missing, `topk` < 1, or names do not fit.
        RecipeError: the recipe is not a video recognizer recipe.
        CheckpointError: the checkpoint is unreadable or does not fit the recipe's model.
    """
    if topk < 1:
        raise InputError(f"--topk must be at least 1, got {topk}")
    paths = [Path(v) for v in videos]
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: no such video file" if not path.exists() else f"{path}: not a file")
    spec = _test_spec(recipe)
    model = load_model(recipe, checkpoint)
    num_classes = int(recipe.model.cls_head.num_classes)
    names, names_from = _class_names(class_names, classes_file, spec, num_classes)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    from vidact.engine.trainer import predict_scores

    errors: dict[int, str] = {}
    scored: list[int] = []
    batch_size = recipe.data.test_dataloader.videos_per_gpu or recipe.data.videos_per_gpu
    from vidact.io.progress import track

    batches = track(_batches(paths, spec, batch_size, scored, errors), "predicting",
                    total=-(-len(paths) // batch_size))  # the last batch falls short when videos fail
    scores = predict_scores(model.to(device), batches, device)
    if len(scored) and scores.shape[0] != len(scored):
        raise RecipeError(f"got {scores.shape[0]} score rows for {len(scored)} videos",
                          hint="set model.test_cfg.average_clips to score or prob for multi-clip/multi-crop testing")
    average = recipe.model.test_cfg.average_clips
    probs = scores if average == "prob" or not len(scored) else softmax(scores)
    k = min(topk, num_classes)
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k] if len(scored) else np.zeros((0, k), np.int64)

    entries: list[dict[str, Any]] = [{"path": str(p), "ok": False, "error": errors.get(i, "")}
                                     for i, p in enumerate(paths)]
    for row, i in enumerate(scored):
        entries[i] = {"path": str(paths[i]), "ok": True, "predictions": [
            {"label": int(c), "name": names[c] if names else None, "score": float(probs[row, c])} for c in top[row]]}
    return {"checkpoint": str(checkpoint), "num_classes": num_classes, "topk": k,
            "score_type": "prob" if average == "prob" else "softmax", "classes_file": names_from,
            "num_failed": len(errors), "videos": entries}


def load_model(recipe: Any, checkpoint: str | os.PathLike) -> nn.Module:
    """The recipe's model with the checkpoint's weights (checked against the recipe first), in eval mode."""
    from vidact.engine.importing import model_weights  # vidact or MMAction (imported on the fly)
    from vidact.models import build_model

    model = build_model(recipe.model)
    state = model_weights(checkpoint, recipe)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{checkpoint}: does not fit the recipe's model ({str(exc).splitlines()[0]})",
                              hint="use the recipe the checkpoint was trained with") from None
    return model.eval()


def _test_spec(recipe: Any) -> Any:
    """The `VideoDataset` spec (data.test, else data.val, through RepeatDataset) whose pipeline is used."""
    if recipe.model.type not in _RECOGNIZERS:
        raise RecipeError(f"vidact predict needs a recognizer recipe; model.type is {recipe.model.type}")
    spec = recipe.data.test or recipe.data.val
    if spec is None:
        raise RecipeError("the recipe has no data.test (or data.val) section to take the test pipeline from")
    while hasattr(spec, "dataset"):
        spec = spec.dataset
    if spec.type != "VideoDataset":
        raise RecipeError(f"vidact predict reads video files; the recipe's test split is a {spec.type}",
                          hint="use a recipe whose data.test is a VideoDataset (PyAV/OpenCV/Decord pipeline)")
    return spec


def _class_names(class_names: Sequence[str] | None, classes_file: str | os.PathLike | None, spec: Any,
                 num_classes: int) -> tuple[list[str] | None, str | None]:
    """Names in label order and the file they came from (None: given directly, or no names)."""
    if class_names is not None:
        names, source = list(class_names), None
    elif classes_file is not None:
        names, source = read_class_names(classes_file), str(classes_file)
    else:
        beside = Path(spec.ann_file).parent / CLASSES_FILE
        if not beside.is_file():
            return None, None
        names = read_class_names(beside)
        if len(names) != num_classes:
            log.warning("%s: %d class names for a model with %d classes; showing indices only", beside,
                        len(names), num_classes)
            return None, None
        return names, str(beside)
    if len(names) != num_classes:
        where = f"{source}: " if source else ""
        raise InputError(f"{where}{len(names)} class names for a model with {num_classes} classes")
    return names, source


def _batches(paths: Sequence[Path], spec: Any, batch_size: int, scored: list[int],
             errors: dict[int, str]) -> Iterator[dict[str, Any]]:
    """Collated batches of the decodable videos; appends their indices to `scored` and the
    one-line reasons of the others to `errors`, as it goes."""
    from vidact.data.build import build_pipeline, collate

    pipeline = build_pipeline(spec.pipeline)
    pending: list[Any] = []
    for i, path in enumerate(paths):
        results = {"filename": str(path), "label": _NO_LABEL, "start_index": spec.start_index,
                   "modality": spec.modality}
        try:
            pending.append(pipeline(results))
        except DecodeError as exc:
            errors[i] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.debug("skipped: %s", errors[i])
            continue
        scored.append(i)
        if len(pending) == batch_size:
            yield collate(pending)
            pending = []
    if pending:
        yield collate(pending)
