"""`vidact proposals pgm`: BSN's proposal generation module, TEM results to candidate proposals per video."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidact.commands import _common
from vidact.commands._proposals_stage import ShardOpt, finish_stage, parse_shard_option, stage_progress


def pgm_command(
    tem_dir: Annotated[Path, typer.Argument(help="Folder of TEM result CSVs, <video>.csv with columns "
                                            "action,start,end,tmin,tmax.", file_okay=False, show_default=False)],
    ann: Annotated[Path, typer.Option("--ann", help="Per-video ActivityNet annotation JSON (the format "
                                      "ActivityNetDataset reads): the videos, their durations and ground truth.",
                                      dir_okay=False, show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the proposal CSVs (<video>.csv).",
                                      file_okay=False, show_default=False)],
    temporal_scale: Annotated[int, typer.Option("--temporal-scale", min=1,
                                                help="Temporal positions of the TEM results used.")] = 100,
    peak_threshold: Annotated[float, typer.Option(
        "--peak-threshold", help="Besides local peaks, positions above this fraction of the maximum probability "
        "are boundary candidates.")] = 0.5,
    shard: ShardOpt = None,
    workers: _common.WorkersOpt = 1,
    as_json: _common.JsonOpt = False,
) -> None:
    """Generate candidate proposals from TEM results: every start/end candidate pair, scored and matched.

    Writes one CSV per video (tmin,tmax,tmin_score,tmax_score,score,match_iou,match_ioa, best score first),
    as MMAction's `generate_candidate_proposals` computes them. Videos already in --out are skipped, so a
    killed run resumes; a video with bad input is reported and skipped (exit 2 at the end).

    Examples:

        vidact proposals pgm work/tem_results --ann anet_val.json --out work/pgm_proposals

        vidact proposals pgm tem/ --ann anet_train.json -o pgm/ --peak-threshold 0.5 --workers 4 --shard 0/2 --json
    """
    from vidact.data.annotations.activitynet import read_video_infos
    from vidact.localization.bsn_stages import run_pgm

    shard_spec = parse_shard_option(shard)
    video_infos = read_video_infos(ann)
    with stage_progress("pgm") as advance:
        summary = run_pgm(video_infos, tem_dir, out, temporal_scale=temporal_scale, peak_threshold=peak_threshold,
                          shard=shard_spec, workers=_common.default_workers(workers), progress=advance)
    finish_stage(summary, as_json, "proposals")
