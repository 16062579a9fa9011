"""Checks a training run makes before it starts: are the recipe's data where it says, and do they decode?

A wrong `data_prefix` or a missing annotation file would otherwise surface as a warning per sample
and a worker traceback minutes later. The datasets' failure budget stays for what it is for: a few
bad files in a dataset that is otherwise fine.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from vidact.errors import DecodeError, InputError


def check_data_paths(spec: Any, key: str) -> None:
    """Check that the annotation file and the data folder a dataset spec names exist.

    Args:
        spec: a dataset spec (a `RepeatDataset`'s is followed to the dataset it wraps).
        key: the spec's place in the recipe, e.g. 'data.train'.

    Raises:
        InputError: naming the recipe key and the path, e.g.
            `data.train.data_prefix: data/kinetics/videos: no such folder`.
    """
    spec, key = _leaf(spec, key)
    ann_file = getattr(spec, "ann_file", None)
    if ann_file is not None:
        if not os.path.exists(ann_file):
            raise _problem(f"{key}.ann_file", ann_file, "no such file")
        if os.path.isdir(ann_file):
            raise _problem(f"{key}.ann_file", ann_file, "is a folder, expected an annotation file")
    prefix = getattr(spec, "data_prefix", None)
    if prefix is not None:
        if not os.path.exists(prefix):
            raise _problem(f"{key}.data_prefix", prefix, "no such folder")
        if not os.path.isdir(prefix):
            raise _problem(f"{key}.data_prefix", prefix, "is a file, expected a folder")


def check_first_batch(dataset: Any, spec: Any, key: str, batch_size: int) -> None:
    """Decode the first `batch_size` samples of `dataset`; fail when none of them decodes.

    The samples are prepared directly (no neighbour is substituted, nothing is counted against
    the failure budget), and the random generators are left as they were found, so the run that
    follows draws exactly what it would have drawn without the check.

    Args:
        dataset: the dataset built from `spec` (a `RepeatDataset` is looked through).
        spec: its spec, for the paths named in the error.
        key: the spec's place in the recipe, e.g. 'data.train'.
        batch_size: samples to try (the loader's batch size).

    Raises:
        InputError: naming the recipe key, its data_prefix and the first sample's reason.
    """
    spec, key = _leaf(spec, key)
    while hasattr(dataset, "dataset") and not hasattr(dataset, "prepare_train_frames"):
        dataset = dataset.dataset
    prepare = getattr(dataset, "prepare_test_frames" if getattr(dataset, "test_mode", False)
                      else "prepare_train_frames", None)
    if prepare is None or len(dataset) == 0:
        return
    reasons = []
    with _random_state_kept():
        for idx in range(min(batch_size, len(dataset))):
            try:
                prepare(idx)
            except DecodeError as exc:
                reasons.append(str(exc))
            else:
                return
    prefix = getattr(spec, "data_prefix", None)
    where = f"{key}.data_prefix is {prefix}" if prefix is not None else f"paths in {key}.ann_file"
    raise InputError(
        f"{key}: none of the first {len(reasons)} samples decodes ({where}); e.g. {reasons[0]}",
        hint=f"check {key}.data_prefix and the paths in {key}.ann_file "
             f"(`vidact dataset check {getattr(spec, 'ann_file', 'ANN')}"
             + (f" --data-prefix {prefix}`" if prefix is not None else "`") + " lists every broken entry)",
    )


def _leaf(spec: Any, key: str) -> tuple[Any, str]:
    while getattr(spec, "type", None) == "RepeatDataset":
        spec, key = spec.dataset, f"{key}.dataset"
    return spec, key


def _problem(key: str, path: str, what: str) -> InputError:
    return InputError(f"{key}: {path}: {what}",
                      hint=f"fix {key} in the recipe, or override it with --set {key}=PATH")


@contextlib.contextmanager
def _random_state_kept() -> Iterator[None]:
    """Restore the generators the pipelines draw from (python, NumPy, torch CPU) on exit."""
    import random

    import numpy as np
    import torch

    saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.set_rng_state(saved[2])
