"""`vidact proposals bsp`: boundary-sensitive proposal (BSP) features of the PGM proposals, one .npy per video."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidact.commands import _common
from vidact.commands._proposals_stage import ShardOpt, finish_stage, parse_shard_option, stage_progress

_SAMPLES = "Sampling"


def bsp_command(
    tem_dir: Annotated[Path, typer.Argument(help="Folder of TEM result CSVs (<video>.csv).", file_okay=False,
                                            show_default=False)],
    pgm_dir: Annotated[Path, typer.Argument(help="Folder of PGM proposal CSVs (<video>.csv), best first.",
                                            file_okay=False, show_default=False)],
    ann: Annotated[Path, typer.Option("--ann", help="Per-video ActivityNet annotation JSON: the videos to process.",
                                      dir_okay=False, show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the features (<video>.npy).",
                                      file_okay=False, show_default=False)],
    top_k: Annotated[int, typer.Option("--top-k", min=0, help="Proposals per video (the first of each file).")
                     ] = 1000,
    bsp_boundary_ratio: Annotated[float, typer.Option(
        "--boundary-ratio", rich_help_panel=_SAMPLES,
        help="Half-width of the start and end regions, as a fraction of the proposal length.")] = 0.2,
    num_sample_start: Annotated[int, typer.Option("--num-sample-start", min=2, rich_help_panel=_SAMPLES,
                                                  help="Samples in the start region.")] = 8,
    num_sample_end: Annotated[int, typer.Option("--num-sample-end", min=2, rich_help_panel=_SAMPLES,
                                                help="Samples in the end region.")] = 8,
    num_sample_action: Annotated[int, typer.Option("--num-sample-action", min=2, rich_help_panel=_SAMPLES,
                                                   help="Samples inside the proposal.")] = 16,
    num_sample_interp: Annotated[int, typer.Option("--num-sample-interp", min=1, rich_help_panel=_SAMPLES,
                                                   help="Interpolated points averaged into each sample.")] = 3,
    shard: ShardOpt = None,
    workers: _common.WorkersOpt = 1,
    as_json: _common.JsonOpt = False,
) -> None:
    """Compute BSP features: actionness sampled around and inside each of the top-k proposals.

    Writes one (N, action + start + end samples) float64 .npy per video (32 columns at the defaults), as
    MMAction's `generate_bsp_feature` computes them. Videos already in --out are skipped, so a killed
    run resumes; a video with bad input is reported and skipped (exit 2 at the end).

    Examples:

        vidact proposals bsp work/tem_results work/pgm_proposals --ann anet_val.json --out work/bsp_features

        vidact proposals bsp tem/ pgm/ --ann anet_train.json -o bsp/ --top-k 500 --workers 4 --json
    """
    from vidact.data.annotations.activitynet import read_video_infos
    from vidact.localization.bsn_stages import run_bsp

    shard_spec = parse_shard_option(shard)
    video_infos = read_video_infos(ann)
    with stage_progress("bsp") as advance:
        summary = run_bsp(video_infos, tem_dir, pgm_dir, out, top_k=top_k, bsp_boundary_ratio=bsp_boundary_ratio,
                          num_sample_start=num_sample_start, num_sample_end=num_sample_end,
                          num_sample_action=num_sample_action, num_sample_interp=num_sample_interp,
                          shard=shard_spec, workers=_common.default_workers(workers), progress=advance)
    finish_stage(summary, as_json, "feature rows")
