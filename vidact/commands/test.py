"""`vidact test`: score a recipe's test split with a checkpoint under its multi-clip/multi-crop protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidact.commands._common import CheckpointOpt, JsonOpt, RecipeArg, SetOpt, err, print_json

OutOpt = Annotated[
    Path, typer.Option("--out", metavar="SCORES", show_default=False,
                       help="Scores file: .json (with its protocol) or .npy (protocol in SCORES.protocol.json); "
                            "SSN recipes: raw outputs, .json or .npz.")
]
EvalOpt = Annotated[
    list[str] | None,
    typer.Option("--eval", metavar="METRIC", show_default=False,
                 autocompletion=lambda incomplete: [m for m in ("top_k_accuracy", "mean_class_accuracy",
                                                                "mean_average_precision", "mAP") if m.startswith(incomplete)],
                 help="Also compute top_k_accuracy, mean_class_accuracy or mean_average_precision (recognizers), or mAP (SSN). Repeatable."),
]
TopkOpt = Annotated[list[int] | None, typer.Option("--topk", metavar="K", show_default="1 5",
                                                   help="k for top_k_accuracy. Repeatable.")]


def test_command(
    recipe: RecipeArg,
    checkpoint: CheckpointOpt,
    out: OutOpt,
    metrics: EvalOpt = None,
    topk: TopkOpt = None,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score data.test with a checkpoint and write the (N x C) scores for `vidact eval`.

    Clips and crops follow the recipe's test pipeline (SampleFrames num_clips, ThreeCrop/TenCrop)
    and are combined per model.test_cfg.average_clips. The file is stamped with its protocol:
    num_clips, num_crops, aggregation, input_size, checkpoint_sha256 and ann_file_sha256.
    Under torchrun the ranks share the videos and rank 0 writes the file.

    Examples:

        vidact test recipes/toy/tsm.yaml --checkpoint work_dirs/toy_tsm/best.pth --out scores.json

        vidact test recipes/toy/tsm.yaml --checkpoint best.pth --out s.json --eval top_k_accuracy --json

        torchrun --nproc-per-node 4 -m vidact test recipes/tsm_r50_kinetics400.yaml --checkpoint best.pth --out s.npy

    On an SSN recipe it writes the raw per-video outputs (.json or .npz) for `vidact detections-to-regression`.
    """
    from vidact.schemas.load import load_recipe

    loaded = load_recipe(recipe, overrides or [])  # recipe errors come before torch is imported
    from vidact.engine.runs import test_recipe

    result = test_recipe(loaded, checkpoint=checkpoint, out=out, metrics=metrics or [], topk=topk or (1, 5))
    if result["out"] is None:  # a torchrun rank other than 0: rank 0 reports
        return
    p = result["protocol"]
    if p.get("model") == "SSN":  # raw per-proposal outputs for `vidact detections-to-regression`
        err.print(f"wrote {out}: SSN raw outputs of {result['num_samples']} videos, {result['num_proposals']} "
                  f"proposals, {result['num_classes']} classes", highlight=False, soft_wrap=True)
    else:
        err.print(f"wrote {out}: {result['num_samples']} videos x {result['num_classes']} classes "
                  f"({p['num_clips']} clips x {p['num_crops']} crops, {p['aggregation']})", highlight=False,
                  soft_wrap=True)
    for name, value in result["metrics"].items():
        err.print(f"{name}: {value:.4f}", highlight=False)
    if as_json:
        print_json(result)
