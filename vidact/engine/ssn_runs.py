"""`vidact test` on an SSN recipe: score every proposal of every test video, write the raw outputs.

The outputs (proposal ticks, activity, completeness and regression scores per video) go to JSON or
`.npz` (never pickle) for `vidact detections-to-regression`; `--eval mAP` also runs the dataset's
THUMOS'14 evaluation on them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import torch

from vidact.errors import InputError, RecipeError

log = logging.getLogger(__name__)


def test_ssn_recipe(recipe: Any, *, checkpoint: str | os.PathLike, out: str | os.PathLike,
                    metrics: Sequence[str] = ()) -> dict[str, Any]:
    """Run the SSN test forward on `data.test` (one video per batch) and write the raw outputs.

    Returns:
        `{"out", "num_samples", "num_classes", "num_proposals", "protocol", "metrics"}`.

    Raises:
        RecipeError: no data.test, or under torchrun (SSN testing runs in one process).
        InputError: an output name that is neither .json nor .npz.
    """
    from vidact.data.annotations.ssn_detections import write_ssn_raw_outputs
    from vidact.engine.distributed import init_distributed
    from vidact.engine.predict import load_model
    from vidact.engine.runs import _sha256, build_eval_loader
    from vidact.data.build import batch_to_device
    from vidact.models.localizers.ssn import SSN, TEST_KEYS

    data = recipe.data
    if data.test is None:
        raise RecipeError("the recipe has no data.test section")
    if not str(out).endswith((".json", ".npz")):
        raise InputError(f"{out}: unknown raw-output format; use .json or .npz")
    info = init_distributed(recipe.dist_params.backend)
    if info.is_distributed:
        raise RecipeError("SSN testing runs in one process; run vidact test without torchrun")
    loader = build_eval_loader(data.test, data.test_dataloader.model_copy(update={"videos_per_gpu": 1}), data)
    model = load_model(recipe, checkpoint).to(info.device)
    dataset = loader.dataset
    outputs = []
    with torch.no_grad():
        for index, batch in enumerate(loader):
            batch = batch_to_device(batch, info.device)
            (result,) = model(batch["imgs"], return_loss=False, **{k: batch[k] for k in TEST_KEYS})
            outputs.append(SSN.to_output(dataset.video_infos[index]["video_id"], result))
    from vidact.io.provenance import annotation_record

    protocol = {"model": "SSN", "test_interval": dataset.test_interval, "checkpoint_sha256": _sha256(checkpoint),
                **annotation_record(data.test.ann_file),  # eval and detections-to-regression find the GT
                "reg_norm_consts": dataset.reg_norm_consts.tolist()}
    write_ssn_raw_outputs(out, outputs, protocol)
    results = dataset.evaluate([o.as_result() for o in outputs], metrics=list(metrics)) if metrics else {}
    return {"out": str(out), "num_samples": len(outputs),
            "num_classes": int(outputs[0].activity_scores.shape[1] - 1) if outputs else 0,
            "num_proposals": int(sum(len(o.relative_proposal_list) for o in outputs)),
            "protocol": protocol, "metrics": {k: float(v) for k, v in results.items()}}
