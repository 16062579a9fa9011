"""`vidact proposals pem`: PEM scoring, score fusion, soft-NMS -> ActivityNet results (BSN last stage)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidact.commands._common import JsonOpt, RecipeArg, SetOpt, WorkersOpt, err, print_json
from vidact.commands.proposals_tem import CheckpointOpt, ShardOpt, Split, parse_shard_option, progress_bar


def pem_command(
    recipe: RecipeArg,
    checkpoint: CheckpointOpt,
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False, help="ActivityNet results JSON to write.")],
    split: Annotated[Split, typer.Option("--split", help="Which data split of the recipe to score.")] = Split.test,
    overrides: SetOpt = None,
    shard: ShardOpt = None,
    workers: WorkersOpt = 1,
    as_json: JsonOpt = False,
) -> None:
    """PEM scoring + soft-NMS of a split's proposals -> ActivityNet results (BSN last stage).

    Each proposal's score is the PEM confidence times its start and end boundary scores; soft-NMS
    (the recipe's soft_nms_alpha, low/high thresholds and post_process_top_k) then keeps the top
    proposals, with segments in seconds: {"version", "results": {video: [{"segment", "score"}]},
    "external_data"}, written atomically and ready for `vidact eval --metric AR@AN`. When the whole
    split is scored, its AR@AN and AUC are printed too. RECIPE is a PEM recipe or a BSN chain
    recipe (its PEM stage, reading the proposals and BSP features in the chain's work_dir).

    Examples:

        vidact proposals pem recipes/bsn_pem_400x100_activitynet.yaml -c work_dirs/bsn_pem/best.pth --out results.json

        vidact proposals pem recipes/bsn_pem_400x100_activitynet.yaml -c pem.pth --split val --out val.json --json
    """
    from vidact.engine.bsn import pem_inference
    from vidact.schemas.load import load_recipe

    from vidact.engine.bsn_chain import pem_recipe
    from vidact.schemas.bsn import BSNChainSpec

    loaded = load_recipe(recipe, overrides or [])
    if isinstance(loaded, BSNChainSpec):  # a chain recipe: its PEM stage, reading the chain's work dir
        loaded = pem_recipe(loaded, loaded.work_dir or Path("work_dirs") / recipe.stem)
    shard_spec = parse_shard_option(shard)
    with progress_bar(f"PEM {split.value}") as update:
        summary = pem_inference(loaded, checkpoint, out, split=split.value, shard=shard_spec,
                                workers=0 if workers <= 1 else workers, progress=update)
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in summary["metrics"].items())
    err.print(f"PEM {split.value}: {summary['proposals']} proposals for {summary['videos']} videos -> {out}"
              + (f" ({metrics})" if metrics else ""), highlight=False, soft_wrap=True)
    if as_json:
        print_json(summary)
