"""`vidact export` on a full-size recognizer: export time, and inference speed of the exported files
against eager PyTorch, on the CPU.

    .venv/bin/python benchmarks/bench_export.py [--recipe recipes/tsm_r50_kinetics400.yaml] [--repeat 5]

The model keeps its initial weights (saved once to a temporary checkpoint that every runner loads;
no ImageNet file: speed does not depend on the values). For each format it
times `export_recognizer` (trace or torch.export + write + load back + verification runs), then runs
eager PyTorch, the TorchScript file and the ONNX file (onnxruntime, CPU) alternately `--repeat` times
on the same batch-1 input and prints the median wall and CPU time (this process, user + system) of
each, and the largest difference from eager. No time is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidact.engine.checkpoint import save_checkpoint  # noqa: E402
from vidact.engine.exporting import ExportedRecognizer, export_recognizer, input_shape, onnx_available  # noqa: E402
from vidact.engine.importing import load_model  # noqa: E402
from vidact.schemas.load import load_recipe  # noqa: E402


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="recipes/tsm_r50_kinetics400.yaml")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recipe = load_recipe(args.recipe, ["model.backbone.pretrained=null"])  # initial weights, no files needed
    runners = {}
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "weights.pth"  # one set of initial weights for every runner
        save_checkpoint(checkpoint, model=load_model(recipe), epoch=0, iteration=0, recipe=recipe.to_plain())
        formats = ["torchscript"] + (["onnx"] if all(onnx_available()) else [])
        for fmt in formats:
            out = Path(tmp) / f"model.{'pt' if fmt == 'torchscript' else 'onnx'}"
            result, wall, cpu = _timed(lambda: export_recognizer(recipe, checkpoint, fmt=fmt, out=out))
            size_mb = out.stat().st_size / 2**20
            print(f"export {fmt:11s}: {wall:6.1f} s wall, {cpu:6.1f} s CPU (verification included), input "
                  f"{list(result.input_shape)}, max |diff| {result.max_abs_diff:.2e}, {size_mb:.0f} MB")
            if fmt == "torchscript":
                scripted = torch.jit.load(str(out))
                runners[fmt] = lambda x, m=scripted: m(torch.from_numpy(x)).numpy()
            else:
                import onnxruntime

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = args.threads
                session = onnxruntime.InferenceSession(str(out), options, providers=["CPUExecutionProvider"])
                runners[fmt] = lambda x, s=session: s.run(None, {"imgs": x})[0]
        model = ExportedRecognizer(load_model(recipe, checkpoint))
        shape = input_shape(recipe, model.recognizer)
        runners = {"eager": lambda x: model(torch.from_numpy(x)).numpy(), **runners}
        imgs = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
        times = {name: [] for name in runners}
        outputs = {}
        with torch.no_grad():
            for name, run in runners.items():  # warm-up (first-run allocations, graph optimisation)
                outputs[name] = run(imgs)
            for _ in range(args.repeat):  # interleaved, so a busy moment hits every runner
                for name, run in runners.items():
                    _, wall, cpu = _timed(lambda: run(imgs))
                    times[name].append((wall, cpu))
    eager_cpu = statistics.median(c for _, c in times["eager"])
    print(f"inference, batch 1, input {list(shape)}, {args.threads} thread(s), median of {args.repeat}:")
    for name, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        diff = float(np.abs(outputs[name] - outputs["eager"]).max())
        print(f"  {name:11s}: {wall * 1000:8.0f} ms wall, {cpu * 1000:8.0f} ms CPU "
              f"(eager CPU / this: {eager_cpu / cpu:4.2f}x), max |diff| vs eager {diff:.2e}")


if __name__ == "__main__":
    main()
