"""`vidact export`: a trained recognizer as a TorchScript or ONNX file, checked against PyTorch."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from vidact.commands._common import CheckpointOpt, JsonOpt, RecipeArg, SetOpt, err, print_json


class ExportFormat(str, Enum):
    torchscript = "torchscript"
    onnx = "onnx"


FormatOpt = Annotated[ExportFormat, typer.Option("--format", "-f", show_default=False, case_sensitive=False,
                                                 help="torchscript (torch.jit) or onnx (needs the onnx extra).")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", dir_okay=False, show_default=False,
                                      help="File to write (.pt / .onnx), atomically, once verified.")]
ClipsOpt = Annotated[int | None, typer.Option("--clips", min=1, metavar="N", show_default="the recipe's",
                                              help="Views per video (clips x crops) the model is exported for.")]
BatchOpt = Annotated[str, typer.Option("--batch", metavar="N|dynamic",
                                       autocompletion=lambda incomplete: [v for v in ("1", "dynamic")
                                                                          if v.startswith(incomplete)],
                                       help="Fixed batch size, or 'dynamic' for any batch.")]
ToleranceOpt = Annotated[float, typer.Option("--tolerance", min=0.0, metavar="ATOL",
                                             help="Largest absolute difference from PyTorch that passes.")]
SizeOpt = Annotated[str | None, typer.Option("--input-size", metavar="W[xH]", show_default="the pipeline's crop",
                                             help="Frame size when the test pipeline does not fix it.")]


def _parse_batch(value: str) -> int | None:
    if value.strip().lower() == "dynamic":
        return None
    if value.strip().isdigit() and int(value) >= 1:
        return int(value)
    raise typer.BadParameter(f"expected a positive integer or 'dynamic', got {value!r}", param_hint="--batch")


def _parse_size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", value)
    if not match or int(match[1]) < 1 or int(match[2] or match[1]) < 1:
        raise typer.BadParameter(f"expected W or WxH in pixels, got {value!r}", param_hint="--input-size")
    return int(match[1]), int(match[2] or match[1])


def _dims(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join("N" if d == -1 else str(d) for d in shape) + "]"  # -1: the dynamic batch


def export_command(
    recipe: RecipeArg,
    checkpoint: CheckpointOpt,
    fmt: FormatOpt,
    out: OutOpt,
    clips: ClipsOpt = None,
    batch: BatchOpt = "1",
    input_size: SizeOpt = None,
    tolerance: ToleranceOpt = 1e-4,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a recognizer to TorchScript or ONNX, verified against PyTorch before it is written.

    The exported model takes the recipe's test input after the data pipeline (2D models
    N x views*segments x C x H x W, 3D models N x views x C x T x H x W) and returns the class scores
    averaged as model.test_cfg.average_clips says. The file is then loaded back (torch.jit.load, or
    onnxruntime) and run beside PyTorch on random inputs; the largest difference is printed and
    above --tolerance (1e-4) the export fails (exit 1) and nothing is written.

    Examples:

        vidact export recipes/toy/tsm.yaml --checkpoint work_dirs/toy_tsm/best.pth --format torchscript --out tsm.pt

        vidact export recipes/tsm_r50_kinetics400.yaml --checkpoint tsm.pth -f onnx -o tsm.onnx --batch dynamic --json
    """
    from vidact.schemas.load import load_recipe

    fixed = _parse_batch(batch)
    size = _parse_size(input_size)
    loaded = load_recipe(recipe, overrides or [])  # recipe errors come before torch is imported
    from vidact.engine.exporting import export_recognizer

    with err.status("loading the model", spinner="dots") as status:  # ONNX export takes a minute on a ResNet-50

        def stage(line: str) -> None:
            err.print(line, highlight=False, soft_wrap=True)
            status.update(line.split(":")[0].split(" for ")[0])

        result = export_recognizer(loaded, checkpoint, fmt=fmt.value, out=out, clips=clips, batch=fixed or 1,
                                   dynamic_batch=fixed is None, input_size=size, tolerance=tolerance,
                                   on_stage=stage)
    if result.verified:
        err.print(f"verified: max |exported - PyTorch| = {result.max_abs_diff:.3g} (tolerance {tolerance:g}) on batch "
                  f"{' and '.join(map(str, result.verify_batches))}", highlight=False)
    else:
        err.print(f"note: {result.note}", highlight=False, soft_wrap=True)
    err.print(f"wrote {out}: input {_dims(result.input_shape)} -> output {_dims(result.output_shape)} "
              f"({result.seconds:.1f} s)", highlight=False, soft_wrap=True)
    if as_json:
        print_json(result.to_dict())
