"""`vidact proposals run`: the whole BSN chain from one chain recipe, resumable stage by stage."""

from __future__ import annotations

from pathlib import Path

from vidact.commands._common import JsonOpt, RecipeArg, SetOpt, WorkDirOpt, WorkersOpt, default_workers, err, print_json
from vidact.commands.proposals_tem import progress_bar


def run_command(
    recipe: RecipeArg,
    work_dir: WorkDirOpt = None,
    overrides: SetOpt = None,
    workers: WorkersOpt = 1,
    as_json: JsonOpt = False,
) -> None:
    """The whole BSN chain from one chain recipe -> WORK_DIR/results.json, resumable.

    Stages: train TEM, TEM curves for every video, PGM proposals, BSP features, train PEM, PEM
    scoring + soft-NMS -> WORK_DIR/results.json (ActivityNet format, segments in seconds).

    RECIPE is a chain recipe (sections data, tem, pgm, bsp, pem). Every finished stage is kept in
    the work dir and skipped on a rerun, and an interrupted stage resumes (training from its latest
    checkpoint, per-video stages from the videos not yet written): rerun the same command after a
    kill. --workers sets the processes of the numpy stages (PGM, BSP). The AR@AN of data.test is
    printed at the end (--json: the whole summary).

    Examples:

        vidact dataset synth localization --out data/synth_anet && vidact proposals run recipes/toy/bsn.yaml

        vidact proposals run recipes/bsn_400x100_activitynet.yaml --work-dir work_dirs/bsn --workers 8 --json
    """
    from vidact.engine.bsn_chain import run_bsn_chain
    from vidact.errors import RecipeError
    from vidact.schemas.bsn import BSNChainSpec
    from vidact.schemas.load import load_recipe

    chain = load_recipe(recipe, overrides or [])
    if not isinstance(chain, BSNChainSpec):
        raise RecipeError(f"{recipe}: not a BSN chain recipe (it needs data, tem, pgm and pem sections)",
                          hint="see recipes/toy/bsn.yaml")
    out_dir = work_dir or Path(chain.work_dir or Path("work_dirs") / recipe.stem)

    def report(stage: str, event: str) -> None:
        if event != "done":
            err.print(f"{stage}: {'already done, skipped' if event == 'skip' else 'running'}", highlight=False)

    with progress_bar("BSN") as update:
        summary = run_bsn_chain(chain, out_dir, workers=default_workers(workers), report=report,
                                progress=lambda stage, done, total: update(done, total, stage))
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in summary["metrics"].items()) or "no metrics"
    err.print(f"BSN chain done -> {summary['results']} ({metrics})", highlight=False, soft_wrap=True)
    if as_json:
        print_json(summary)
