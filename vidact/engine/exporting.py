"""Export a recognizer to TorchScript or ONNX, and check the exported file against PyTorch.

The exported graph is `forward_test`: it takes the recipe's test input after the data pipeline
(2D recognizers `(N, views * segments, C, H, W)`, 3D ones `(N, views, C, T, H, W)`) and returns the
class scores combined as the recipe's `test_cfg.average_clips` says. `export_recognizer` writes
to a temporary file, runs it on a seeded random input beside the PyTorch model, and only moves it
to the output path when the two agree.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from vidact.errors import CheckpointError, InputError, VidactError
from vidact.models.convert import CheckpointImportError

log = logging.getLogger(__name__)

Format = Literal["torchscript", "onnx"]
FORMATS: tuple[str, ...] = ("torchscript", "onnx")
RECOGNIZERS: tuple[str, ...] = ("Recognizer2D", "Recognizer3D")
TOLERANCE = 1e-4
"""Largest absolute difference (float32) allowed between the exported model and PyTorch."""
ONNX_HINT = "pip install 'vidact[onnx]'"
_CROPS = {"ThreeCrop": 3, "TenCrop": 10}
_SAMPLERS = ("SampleFrames", "DenseSampleFrames")


class ExportError(VidactError):
    """The exporter failed on this model, or the exported file disagrees with PyTorch (exit 1)."""


@dataclass(frozen=True)
class ExportResult:
    """What `export_recognizer` wrote and how well the file matched PyTorch.

    Attributes:
        max_abs_diff: largest |exported - PyTorch| over the verification inputs; None when the
            file could not be run (`verified` False, `note` says why).
        verify_batches: the batch sizes the exported file was run with.
    """

    format: str
    out: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    dynamic_batch: bool
    max_abs_diff: float | None
    verified: bool
    verify_batches: tuple[int, ...]
    seconds: float
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (shapes as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


# ---- the exported module and its input layout --------------------------------------------------


class ExportedRecognizer(nn.Module):
    """`recognizer.forward_test` as the module's `forward`, the graph that gets exported.

    `test_cfg.max_testing_views` is dropped: its chunk loop would be frozen at the traced batch,
    and chunking changes memory use, not the scores (batch norm is in eval mode).
    """

    def __init__(self, recognizer: nn.Module) -> None:
        super().__init__()
        if getattr(recognizer, "max_testing_views", None):
            log.info("max_testing_views=%s ignored: the exported model runs all views at once",
                     recognizer.max_testing_views)
            recognizer.max_testing_views = None
        self.recognizer = recognizer
        self.eval()  # the exporters follow the top module's mode: dropout must be off everywhere

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        """`imgs`: the recipe's test layout -> scores `(N, num_classes)` (`(N * views, num_classes)`
        when `average_clips` is None)."""
        return self.recognizer.forward_test(imgs)


def _test_steps(recipe: Any) -> list[Any]:
    from vidact.engine.runs import dataset_pipeline

    test = getattr(recipe.data, "test", None)
    if test is None:
        raise InputError("the recipe has no data.test section: the exported input follows its pipeline")
    return dataset_pipeline(test)


def _static_size(steps: Sequence[Any]) -> tuple[int, int] | None:
    """(w, h) of the frames leaving the pipeline when its steps fix it (a crop or an exact resize)."""
    size = None
    for step in steps:
        if step.type == "Resize":
            scale = step.scale
            exact = not isinstance(scale, float) and -1 not in scale and not step.keep_ratio
            size = tuple(scale) if exact else None
        elif step.type in ("CenterCrop", "ThreeCrop", "TenCrop", "MultiGroupCrop"):
            crop = step.crop_size
            size = (crop, crop) if isinstance(crop, int) else tuple(crop)
    return size


def _sampled_size(recipe: Any) -> tuple[int, int]:
    """(w, h) of the first test sample, for pipelines that keep the videos' own frame size."""
    from vidact.data.build import build_dataset

    try:
        imgs = build_dataset(recipe.data.test, {"test_mode": True})[0]["imgs"]
    except Exception as exc:  # missing list or video, decode failure: any reason means "say the size"
        raise InputError(
            f"the test pipeline keeps the videos' frame size and its first test video could not be read "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
            hint="give the frame size with --input-size W or WxH",
        ) from None
    return int(imgs.shape[-1]), int(imgs.shape[-2])


def _in_channels(model: nn.Module) -> int:
    first = next((m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))), None)
    return 3 if first is None else int(first.in_channels)


def input_shape(recipe: Any, model: nn.Module, *, clips: int | None = None, batch: int = 1,
                input_size: tuple[int, int] | None = None) -> tuple[int, ...]:
    """The exported model's input shape, from the recipe's test pipeline.

    2D recognizers take `(batch, clips * segments, C, H, W)` with `segments = num_clips * clip_len`
    of the sampler (`num_clips` for flow stacked by `NCHW_Flow`; a view is one pass over the video's
    segments; default clips: the crops);
    3D ones take `(batch, clips, C, T, H, W)` with `T = clip_len` (default clips: num_clips x crops).
    C is the first convolution's input channels.

    Args:
        clips: views per video (clips x crops) to export for; None takes the recipe's.
        input_size: (w, h) of the frames; None reads it off the pipeline's crop or exact resize, or,
            when neither fixes it, off the first test video.

    Raises:
        InputError: no test pipeline, no frame sampler, or an unknown frame size.
    """
    steps = _test_steps(recipe)
    sampler = next((s for s in steps if s.type in _SAMPLERS), None)
    if sampler is None:
        raise InputError(f"data.test.pipeline has no {' or '.join(_SAMPLERS)} step: cannot tell the frames per clip")
    crops = next((_CROPS[s.type] for s in steps if s.type in _CROPS), 1)
    if clips is not None and clips < 1:
        raise InputError(f"--clips must be at least 1, got {clips}")
    w, h = input_size or _static_size(steps) or _sampled_size(recipe)
    c = _in_channels(model.backbone)
    if recipe.model.type == "Recognizer2D":
        flow = any(s.type == "FormatShape" and s.input_format == "NCHW_Flow" for s in steps)
        # flow stacks a clip's frames as channels (C = 2 * clip_len): one segment per clip
        segments = sampler.num_clips * (1 if flow else sampler.clip_len)
        return (batch, (clips or crops) * segments, c, h, w)
    return (batch, clips or sampler.num_clips * crops, c, sampler.clip_len, h, w)


# ---- writers and runners -----------------------------------------------------------------------


def onnx_available() -> tuple[bool, bool]:
    """(can export: onnx and onnxscript importable, can verify: onnxruntime importable)."""
    def found(name: str) -> bool:
        return importlib.util.find_spec(name) is not None

    return found("onnx") and found("onnxscript"), found("onnxruntime")


@contextlib.contextmanager
def _quiet_exporters() -> Any:
    """Keep the exporters' progress prints off stdout (it carries data) and their chatter out of the log."""
    noisy = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [logger.level for logger in noisy]
    captured = io.StringIO()
    try:
        for logger in noisy:
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(captured):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(noisy, levels):
            logger.setLevel(level)
        if captured.getvalue():
            log.debug("exporter output:\n%s", captured.getvalue())


def write_torchscript(module: nn.Module, example: torch.Tensor, path: Path) -> None:
    """Trace `module` on `example` and save it. Tracing records the batch size symbolically (the
    reshapes read it from the input), so the file runs at any batch; verification checks that."""
    with _quiet_exporters(), torch.no_grad():
        traced = torch.jit.trace(module, (example,), check_trace=False)
        traced.save(str(path))


def write_onnx(module: nn.Module, example: torch.Tensor, path: Path, *, dynamic_batch: bool) -> None:
    """Export with `torch.onnx.export` (the torch.export-based exporter), input `imgs`, output
    `cls_score`; `dynamic_batch` makes the first axis symbolic (`batch`)."""
    shapes = ({0: torch.export.Dim("batch", min=1, max=65536)},) if dynamic_batch else None
    with _quiet_exporters(), torch.no_grad():
        torch.onnx.export(module, (example,), str(path), input_names=["imgs"], output_names=["cls_score"],
                          dynamic_shapes=shapes, external_data=False, verbose=False)


def run_exported(path: str | os.PathLike, fmt: Format, imgs: torch.Tensor) -> np.ndarray:
    """Run an exported file on `imgs` on the CPU (TorchScript via torch.jit.load, ONNX via onnxruntime)."""
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.load still works in torch 2.x
            loaded = torch.jit.load(str(path), map_location="cpu")
        with torch.no_grad():
            return loaded(imgs).numpy()
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: imgs.numpy()})[0]


# ---- the whole job -----------------------------------------------------------------------------


def check_exportable(recipe: Any, fmt: str) -> None:
    """Fail early (before the model is built) on a format or recipe that cannot be exported.

    Raises:
        InputError: unknown format, a model that is not a recognizer, or ONNX without its packages.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; use {' or '.join(FORMATS)}")
    model = getattr(recipe, "model", None)
    kind = getattr(model, "type", "BSN chain")
    if kind not in RECOGNIZERS:
        raise InputError(f"export supports recognizers ({', '.join(RECOGNIZERS)}); the recipe's model is a {kind}")
    if fmt == "onnx" and not onnx_available()[0]:
        raise InputError("--format onnx needs the onnx and onnxscript packages", hint=ONNX_HINT)


def _example(shape: Sequence[int], seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(tuple(shape), generator=generator)


def export_recognizer(recipe: Any, checkpoint: str | os.PathLike | None, *, fmt: Format,
                      out: str | os.PathLike, clips: int | None = None, batch: int = 1,
                      dynamic_batch: bool = False, input_size: tuple[int, int] | None = None, seed: int = 0,
                      tolerance: float = TOLERANCE,
                      on_stage: Callable[[str], None] | None = None) -> ExportResult:
    """Export a recipe's recognizer with a checkpoint's weights, verify the file, then move it to `out`.

    The file is written next to `out` under a temporary name, loaded back and run on fresh seeded
    random inputs beside the PyTorch model: at the fixed `batch`, or with `dynamic_batch` (traced at
    a batch of 2) at batches 1 and 3. Only when every output is within `tolerance` is it renamed to
    `out`; otherwise it is removed. Without onnxruntime an ONNX file is written unverified (`note`
    says so).

    Args:
        recipe: a loaded `Recipe`.
        checkpoint: a vidact or MMAction checkpoint (imported on the fly); None keeps initial weights.
        clips, input_size: see `input_shape`.
        batch: the fixed batch size of the exported input (ignored with `dynamic_batch`).
        on_stage: called with a short line as each stage starts (export, verification).

    Raises:
        InputError: see `check_exportable` and `input_shape`; CheckpointImportError: unreadable or
            mismatched checkpoint; ExportError: the exporter failed, or the outputs differ.
    """
    from vidact.engine.importing import load_model

    check_exportable(recipe, fmt)
    if batch < 1:
        raise InputError(f"the batch size must be at least 1, got {batch}")
    out = Path(out)
    if out.is_dir():
        raise InputError(f"{out}: is a folder; --out names the file to write")
    started = time.perf_counter()
    try:
        model = ExportedRecognizer(load_model(recipe, checkpoint))
    except CheckpointError as exc:
        if exc.exit_code == 2:
            raise
        # a checkpoint that does not fit the recipe is bad input here: there is no run to fail
        raise CheckpointImportError(str(exc), hint=exc.hint) from None
    traced_batch = 2 if dynamic_batch else batch  # torch.export specialises a batch of 1: trace at 2
    shape = input_shape(recipe, model.recognizer, clips=clips, batch=traced_batch, input_size=input_size)
    stage = on_stage or (lambda line: None)
    dims = ", ".join(map(str, shape[1:]))
    stage(f"exporting {recipe.model.backbone.type} ({recipe.model.type}) to {fmt} for input "
          f"[{'N' if dynamic_batch else batch}, {dims}]")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        result = _export_and_verify(model, fmt, shape, tmp, dynamic_batch=dynamic_batch, seed=seed,
                                    tolerance=tolerance, stage=stage)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportResult(format=fmt, out=str(out), input_shape=(-1 if dynamic_batch else batch,) + tuple(shape[1:]),
                        dynamic_batch=dynamic_batch, seconds=round(time.perf_counter() - started, 3), **result)


def _export_and_verify(model: ExportedRecognizer, fmt: Format, shape: tuple[int, ...], path: Path, *,
                       dynamic_batch: bool, seed: int, tolerance: float,
                       stage: Callable[[str], None]) -> dict[str, Any]:
    example = _example(shape, seed)
    kind = type(model.recognizer.backbone).__name__
    try:
        if fmt == "torchscript":
            write_torchscript(model, example, path)
        else:
            write_onnx(model, example, path, dynamic_batch=dynamic_batch)
    except Exception as exc:
        raise ExportError(f"could not export the {kind} recognizer to {fmt}: "
                          f"{type(exc).__name__}: {_first_line(exc)}",
                          hint="rerun with --debug for the exporter's traceback") from exc
    batches = (1, 3) if dynamic_batch else (shape[0],)
    if fmt == "onnx" and not onnx_available()[1]:
        with torch.no_grad():
            output_shape = tuple(model(example).shape)
        output_shape = (-1 if dynamic_batch else output_shape[0],) + output_shape[1:]
        return {"output_shape": output_shape, "max_abs_diff": None, "verified": False, "verify_batches": (),
                "note": f"verification skipped: onnxruntime is not installed ({ONNX_HINT})"}
    stage(f"verifying: the exported file and PyTorch on random inputs of batch {' and '.join(map(str, batches))}")
    worst, scale, output_shape = 0.0, 0.0, ()
    for i, batch in enumerate(batches):
        imgs = _example((batch,) + tuple(shape[1:]), seed + 1 + i)  # fresh inputs, not the traced one
        with torch.no_grad():
            expected = model(imgs).numpy()
        got = run_exported(path, fmt, imgs)
        if got.shape != expected.shape:
            raise ExportError(f"the exported {kind} model returned shape {list(got.shape)} for batch {batch}, "
                              f"PyTorch {list(expected.shape)}")
        worst = max(worst, float(np.abs(got.astype(np.float64) - expected).max()))
        scale = max(scale, float(np.abs(expected).max()))
        output_shape = output_shape or tuple(expected.shape)
    if not worst <= tolerance:
        raise ExportError(f"the exported {kind} model differs from PyTorch by {worst:.3g} (> {tolerance:g}) "
                          f"on a random input, scores up to {scale:.3g}; nothing written",
                          hint="float32 rounding grows with the scores' size: if the difference is small "
                               "beside them, --tolerance raises the limit")
    output_shape = (-1 if dynamic_batch else output_shape[0],) + tuple(output_shape[1:])
    return {"output_shape": output_shape, "max_abs_diff": worst, "verified": True, "verify_batches": batches}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""
