"""`vidact train`: train the model a recipe describes (checkpoints, logs and validation in the work dir)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from vidact.commands._common import JsonOpt, RecipeArg, SetOpt, WorkDirOpt, err, print_json

ResumeOpt = Annotated[
    str | None,
    typer.Option("--resume", metavar="auto|CKPT", show_default=False,
                 help="Continue a run: 'auto' takes the work dir's latest checkpoint (if any), or give a path."),
]
ValidateOpt = Annotated[
    bool, typer.Option("--validate/--no-validate", help="Evaluate on data.val every evaluation.interval epochs.")
]
GpusOpt = Annotated[
    int, typer.Option("--gpus", min=1, help="Processes to start with torchrun (one per GPU; gloo processes on CPU).")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", show_default="the recipe's seed, else 0", help="Random seed.")]


def train_command(
    recipe: RecipeArg,
    work_dir: WorkDirOpt = None,
    overrides: SetOpt = None,
    resume: ResumeOpt = None,
    validate: ValidateOpt = True,
    seed: SeedOpt = None,
    gpus: GpusOpt = 1,
    as_json: JsonOpt = False,
) -> None:
    """Train a recipe's model on CPU or GPU; checkpoints, log.jsonl and recipe.yaml go to the work dir.

    The work dir is --work-dir, else the recipe's work_dir, else work_dirs/<recipe stem>. Progress
    goes to stderr; --json prints {"work_dir", "epochs", "metrics", "best_checkpoint", ...} on stdout.
    SIGTERM or Ctrl-C finishes the step and saves a checkpoint before exiting (exit code 143 or 130;
    a second Ctrl-C aborts at once); continue with --resume auto.

    Examples:

        vidact dataset synth recognition --out data/synth && vidact train recipes/toy/tsm.yaml

        vidact train recipes/toy/tsm.yaml --set total_epochs=2 --work-dir runs/tsm --resume auto --json

        vidact train recipes/tsm_r50_kinetics400.yaml --gpus 8
    """
    if gpus > 1 and "LOCAL_RANK" not in os.environ:
        raise typer.Exit(_relaunch_under_torchrun(gpus))
    from vidact.schemas.load import load_recipe

    loaded = load_recipe(recipe, overrides or [])  # recipe errors come before torch is imported
    from vidact.engine.distributed import is_main_process
    from vidact.engine.runs import train_recipe

    out_dir = work_dir or Path(loaded.work_dir or Path("work_dirs") / recipe.stem)
    result = train_recipe(loaded, work_dir=out_dir, resume=resume, validate=validate, seed=seed)
    code = (130 if result["stop_signal"] == "SIGINT" else 143) if result["interrupted"] else 0
    if not is_main_process():
        raise typer.Exit(code)
    summary = ", ".join(f"{k} {v:.4f}" for k, v in result["metrics"].items()) or "no validation"
    err.print(f"trained {result['epochs']} epochs in {out_dir}: {summary}", highlight=False, soft_wrap=True)
    if result["interrupted"]:
        err.print(f"stopped by {result['stop_signal'] or 'a signal'}: checkpoint {result['latest_checkpoint']}\n"
                  f"resume with: {_resume_command(sys.argv[1:])}", highlight=False, soft_wrap=True)
    if as_json:
        print_json(result)
    raise typer.Exit(code)


def _resume_command(args: list[str]) -> str:
    """This command line with `--resume auto` in place of any --resume given."""
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--resume":
            skip = True
        elif not arg.startswith("--resume="):
            kept.append(arg)
    return shlex.join(["vidact", *kept, "--resume", "auto"])


def _relaunch_under_torchrun(gpus: int) -> int:
    """Run this same command line as `python -m torch.distributed.run --nproc_per_node N -m vidact ...`."""
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg == "--gpus":
            skip = True
        elif not arg.startswith("--gpus="):
            args.append(arg)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}", "-m", "vidact",
           *args]
    err.print(f"starting {gpus} processes: {' '.join(cmd)}", highlight=False, soft_wrap=True)
    from vidact.parallel import installed_vidact_in_children

    with installed_vidact_in_children():  # `-m vidact` would put the current directory first on sys.path
        return subprocess.call(cmd)
