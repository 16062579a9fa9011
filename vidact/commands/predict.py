"""`vidact predict`: top-k labels for video files with a trained recognizer checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from vidact.commands._common import CheckpointOpt, JsonOpt, RecipeArg, SetOpt, err, print_json

VideosArg = Annotated[list[Path], typer.Argument(show_default=False, help="Video files to label.")]
TopkOpt = Annotated[int, typer.Option("--topk", "-k", metavar="K", min=1, help="Labels per video.")]
ClassesOpt = Annotated[
    Path | None,
    typer.Option("--classes", metavar="FILE", show_default=False,
                 help="Class names, one per line (the classes.txt vidact dataset build writes). "
                      "Default: classes.txt beside the recipe's test list, if present."),
]


def predict_command(
    recipe: RecipeArg,
    checkpoint: CheckpointOpt,
    videos: VideosArg,
    topk: TopkOpt = 5,
    classes: ClassesOpt = None,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the top-k labels of each video, scored under the recipe's test pipeline.

    Each video gets the clips, crops and clip averaging of data.test (as in vidact test). Scores
    are the model's probabilities with model.test_cfg.average_clips: prob, else a softmax of the
    averaged scores (score_type in --json says which). Without --json, stdout has one line per
    video: its path, then label=score pairs. A video that cannot be decoded is reported and
    skipped; the exit status is then 1.

    Examples:

        vidact predict recipes/toy/tsm.yaml --checkpoint work_dirs/toy_tsm/best.pth video.mp4

        vidact predict recipes/toy/tsm.yaml --checkpoint best.pth --topk 1 --json data/synth/videos/*/*.mp4
    """
    from vidact.schemas.load import load_recipe

    loaded = load_recipe(recipe, overrides or [])  # recipe errors come before torch is imported
    _check_inputs(checkpoint, videos)
    from vidact.engine.predict import predict_videos

    result = predict_videos(loaded, checkpoint, videos, topk=topk, classes_file=classes)
    if as_json:
        print_json(result)
    else:
        _print_lines(result)
    if result["num_failed"]:
        err.print(f"{result['num_failed']} of {len(result['videos'])} videos could not be decoded",
                  highlight=False)
        raise typer.Exit(1)


def _check_inputs(checkpoint: Path, videos: list[Path]) -> None:
    """A mistyped path is a usage error (exit 2), found before the model loads; an undecodable file is not."""
    from vidact.errors import InputError

    if not checkpoint.is_file():
        raise InputError(f"{checkpoint}: no such checkpoint file")
    missing = [str(v) for v in videos if not v.is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InputError(f"{missing[0]}: no such video file{more}")


def _print_lines(result: dict[str, Any]) -> None:
    """One tab-separated line per decoded video on stdout; failures on stderr."""
    for entry in result["videos"]:
        if not entry["ok"]:
            err.print(f"[bold red]failed:[/] {escape(entry['error'])}", highlight=False, soft_wrap=True)
            continue
        labels = "\t".join(f"{p['name'] if p['name'] is not None else p['label']}={p['score']:.4f}"
                           for p in entry["predictions"])
        typer.echo(f"{entry['path']}\t{labels}")
    err.print(f"scores: {result['score_type']}", highlight=False)
