"""`vidact test` on an SSN recipe: score every proposal of every test video, write the raw outputs.

The outputs (proposal ticks, activity, completeness and regression scores per video) go to JSON or
`.npz` (never pickle) for `vidact detections-to-regression`; `--eval mAP` also runs the dataset's
THUMOS'14 evaluation on them. Under torchrun every rank scores its share of the videos and rank 0
gathers them (in the dataset's order) and writes the file. `check_ssn_validation` vets the
recipe's `evaluation` section before an SSN training run validates on `data.val`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from vidact.errors import InputError, RecipeError

log = logging.getLogger(__name__)

SSN_METRICS = ("mAP",)
"""What `SSNDataset.evaluate` computes (THUMOS'14 detection mAP)."""


def one_video_per_batch(override: Any) -> Any:
    """A `val_dataloader` / `test_dataloader` spec with one video per batch: SSN scores a whole video
    per forward (its frames differ in number from video to video)."""
    return override.model_copy(update={"videos_per_gpu": 1})


def check_ssn_validation(evaluation: Any, val_spec: Any = None) -> None:
    """Refuse, before training starts, an `evaluation` section SSN validation cannot honour.

    Raises:
        RecipeError: a metric other than mAP, a `key_indicator` that SSN's evaluation does not report
            while `save_best` is on, or (`val_spec`) data.val's frame sampling and proposal ticks disagree.
    """
    if val_spec is not None:
        check_test_interval(val_spec, "data.val")
    bad = [m for m in evaluation.metrics if m not in SSN_METRICS]
    if bad:
        raise RecipeError(f"evaluation.metrics: SSN validation computes mAP, not {', '.join(bad)}",
                          hint="set evaluation.metrics: [mAP]")
    key = evaluation.key_indicator
    if evaluation.save_best is True and key is not None and not (key == "average_mAP" or key.startswith("mAP@")):
        raise RecipeError(f"evaluation.key_indicator: SSN validation reports mAP@0.10 ... mAP@0.90 and "
                          f"average_mAP, not {key!r}", hint="e.g. evaluation.key_indicator: mAP@0.50")


def check_test_interval(spec: Any, key: str) -> None:
    """Refuse an SSN test/val split whose `SampleProposalFrames` samples frames at another interval than
    the one its proposal ticks are computed with (`test_cfg.ssn.sampler.test_interval`): the ticks
    would point past the sampled frames, giving NaN scores or wrong ones.

    Raises:
        RecipeError: naming both settings.
    """
    from vidact.engine.runs import dataset_pipeline

    while hasattr(spec, "dataset"):  # RepeatDataset
        spec = spec.dataset
    steps = [step for step in dataset_pipeline(spec) if step.type == "SampleProposalFrames"]
    ticks = getattr(getattr(spec, "test_cfg", None), "ssn", None)
    if not steps or ticks is None or steps[0].test_interval == ticks.sampler.test_interval:
        return
    raise RecipeError(f"{key}: SampleProposalFrames samples every {steps[0].test_interval} frames but "
                      f"test_cfg.ssn.sampler.test_interval is {ticks.sampler.test_interval}",
                      hint=f"set {key}.pipeline's SampleProposalFrames test_interval and {key}.test_cfg.ssn."
                           "sampler.test_interval to the same value")


def test_ssn_recipe(recipe: Any, *, checkpoint: str | os.PathLike, out: str | os.PathLike,
                    metrics: Sequence[str] = ()) -> dict[str, Any]:
    """Run the SSN test forward on `data.test` (one video per batch) and write the raw outputs.

    Under torchrun (or srun) each rank scores its contiguous share of the videos; rank 0 gathers
    the outputs back into the dataset's order, writes the file (atomically) and computes the metrics.

    Returns:
        `{"out", "num_samples", "num_classes", "num_proposals", "protocol", "metrics"}` (on ranks other
        than 0, `{"out": None, "rank": r}`).

    Raises:
        RecipeError: no data.test, or its frame sampling and proposal ticks disagree.
        InputError: an output name that is neither .json nor .npz.
    """
    from vidact.data.annotations.ssn_detections import write_ssn_raw_outputs
    from vidact.engine.distributed import gather_ordered, init_distributed
    from vidact.engine.predict import load_model
    from vidact.engine.runs import _sha256, build_eval_loader
    from vidact.engine.trainer import predict_scores
    from vidact.models.localizers.ssn import SSN

    data = recipe.data
    if data.test is None:
        raise RecipeError("the recipe has no data.test section")
    if not str(out).endswith((".json", ".npz")):
        raise InputError(f"{out}: unknown raw-output format; use .json or .npz")
    check_test_interval(data.test, "data.test")
    info = init_distributed(recipe.dist_params.backend)  # alone unless launched by torchrun
    model = load_model(recipe, checkpoint).to(info.device)
    loader = build_eval_loader(data.test, one_video_per_batch(data.test_dataloader), data, info.is_distributed)
    dataset = loader.dataset
    results = predict_scores(model, loader, info.device, progress="testing" if info.rank == 0 else None)
    indices = list(loader.sampler.indices) if info.is_distributed else list(range(len(dataset)))
    results = gather_ordered(list(results), indices, len(dataset))
    if results is None:
        return {"out": None, "rank": info.rank}
    outputs = [SSN.to_output(video["video_id"], result) for video, result in zip(dataset.video_infos, results,
                                                                                   strict=True)]
    from vidact.io.provenance import annotation_record

    protocol = {"model": "SSN", "test_interval": dataset.test_interval, "checkpoint_sha256": _sha256(checkpoint),
                **annotation_record(data.test.ann_file),  # eval and detections-to-regression find the GT
                "reg_norm_consts": dataset.reg_norm_consts.tolist()}
    write_ssn_raw_outputs(out, outputs, protocol)
    scores = dataset.evaluate([o.as_result() for o in outputs], metrics=list(metrics)) if metrics else {}
    return {"out": str(out), "num_samples": len(outputs),
            "num_classes": int(outputs[0].activity_scores.shape[1] - 1) if outputs else 0,
            "num_proposals": int(sum(len(o.relative_proposal_list) for o in outputs)),
            "protocol": protocol, "metrics": {k: float(v) for k, v in scores.items()}}
