"""Training-step throughput: vidact's Trainer against a bare PyTorch loop on the same model (and MMAction2).

Model: the `model` section of `recipes/tsm_r50_kinetics400.yaml` (ResNetTSM-50, 8 segments,
400 classes; random init, no weights are downloaded), its optimizer (SGD through
`TSMOptimizerConstructor`) and grad clipping (max_norm 20). Input: one in-memory batch of
2 x 8 x 3 x 224 x 224 random floats and random labels, so no data loading is timed.

- bare: `loss = sum(losses); loss.backward(); clip_grad_norm_; optimizer.step(); zero_grad()`.
- vidact: `Trainer.fit()` with the hooks `vidact train` uses (LoggerHook with its JSON-lines log,
  CheckpointHook with mid-epoch checkpoints off; the epoch-end checkpoint falls outside the
  timed iterations), over a list that yields the same batch.
- MMAction2 (`--mmaction-python PY`): its `Recognizer2D` + `ResNetTSM` + `TSMHead` with the same
  settings, timed through `model.train_step(data, optim_wrapper)` (what its training loop calls
  per iteration; its hooks are not included) in a process of that interpreter.

All three run under the same glibc malloc settings, given through the environment so that each
process starts with them, in two variants printed side by side:
- tuned: `MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647`, what vidact applies on the CPU
  by itself (`vidact.engine.malloc.keep_freed_memory`: freed buffers are kept for reuse instead of
  being unmapped and faulted in again every step);
- default: glibc's defaults (`MALLOC_TOP_PAD_=131072`, the default value, set only so that vidact
  sees a user setting and leaves malloc alone).

Each timing runs in a fresh process, skips `--warmup` steps and times the next `--steps`; the
tools alternate within each of `--rounds` rounds (rotating who goes first) and the best round of
each is kept (the machine is shared and noisy). Engine overhead = bare samples/s / vidact
samples/s - 1 under the same settings (goal: at most 5%).

With `--toy-epochs N` it also trains `recipes/toy/tsm.yaml` on `vidact dataset synth` data for N
epochs and prints the share of the step time spent waiting for data (from `log.jsonl`).

Prints figures; asserts nothing. Example:

    python benchmarks/bench_engine.py --steps 8 --rounds 3 --mmaction-python .peers/mmaction2/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "tsm_r50_kinetics400.yaml"
BATCH, SEGMENTS, SIZE, CLASSES = 2, 8, 224, 400
KINDS = ("bare", "vidact", "mmaction2")
# The same glibc malloc settings for every tool, through the environment (see the docstring).
VARIANTS = {
    "tuned": {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "2147483647"},
    "default": {"MALLOC_TOP_PAD_": "131072"},
}


def build():
    from vidact.engine.optim import build_optimizer
    from vidact.models import build_model
    from vidact.schemas.load import load_recipe

    recipe = load_recipe(RECIPE, ["model.backbone.pretrained=null"])
    torch.manual_seed(0)
    model = build_model(recipe.model)
    optimizer = build_optimizer(model, recipe.optimizer)
    clip = recipe.optimizer_config.grad_clip.model_dump()
    return recipe, model, optimizer, clip


def batch() -> dict:
    gen = torch.Generator().manual_seed(0)
    return {"imgs": torch.randn(BATCH, SEGMENTS, 3, SIZE, SIZE, generator=gen),
            "label": torch.randint(CLASSES, (BATCH, 1), generator=gen)}


def time_bare(warmup: int, steps: int) -> float:
    _, model, optimizer, clip = build()
    model.train()
    data = batch()
    stamps = []
    for _ in range(warmup + steps):
        losses = model(data["imgs"], data["label"], return_loss=True)
        loss = sum(v for k, v in losses.items() if "loss" in k)
        loss.backward()
        nn.utils.clip_grad_norm_([p for p in model.parameters() if p.grad is not None], **clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        float(loss.detach())  # what the engine logs
        stamps.append(time.perf_counter())
    return BATCH * steps / (stamps[-1] - stamps[warmup - 1])


class Stamps:
    """A hook that records when each iteration ended (last in the hook list)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __getattr__(self, name: str):
        if name.startswith(("before_", "after_")):
            return lambda trainer: None
        raise AttributeError(name)

    def after_train_iter(self, trainer) -> None:
        self.times.append(time.perf_counter())


def time_vidact(warmup: int, steps: int, work_dir: Path) -> float:
    from vidact.engine.hooks import CheckpointHook, LoggerHook
    from vidact.engine.trainer import Trainer

    recipe, model, optimizer, clip = build()
    stamps = Stamps()
    hooks = [CheckpointHook(iter_interval=0, time_interval_min=0), LoggerHook(recipe.log_config.interval), stamps]
    data = batch()
    trainer = Trainer(model, optimizer, None, train_loader=[data] * (warmup + steps), work_dir=work_dir,
                      max_epochs=1, device="cpu", grad_clip=clip, hooks=hooks, seed=0,
                      recipe=recipe.to_plain())
    trainer.fit()
    t = stamps.times
    return BATCH * steps / (t[warmup + steps - 1] - t[warmup - 1])


PEER_SCRIPT = r"""
import json, sys, time, types
for name in ('mmaction.models.localizers.drn', 'mmaction.models.localizers.drn.drn'):
    module = types.ModuleType(name)
    module.DRN = type('DRN', (), {})
    sys.modules[name] = module
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmaction.utils import register_all_modules
from mmengine.optim import OptimWrapper

register_all_modules()
warmup, steps, batch, segs, size, classes = (int(v) for v in sys.argv[1:7])
for _ in range(1):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='Recognizer2D',
        backbone=dict(type='ResNetTSM', pretrained=None, depth=50, norm_eval=False, shift_div=8, num_segments=segs),
        cls_head=dict(type='TSMHead', num_classes=classes, in_channels=2048, spatial_type='avg',
                      consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.5, init_std=0.001,
                      is_shift=True, average_clips='prob', num_segments=segs),
        data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], format_shape='NCHW')))
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4),
                         clip_grad=dict(max_norm=20, norm_type=2))
    gen = torch.Generator().manual_seed(0)
    samples = []
    for i in range(batch):
        s = ActionDataSample()
        s.set_gt_label(int(torch.randint(classes, (1,), generator=gen)))
        samples.append(s)
    data = dict(inputs=[torch.randint(0, 256, (segs, 3, size, size), generator=gen, dtype=torch.uint8)
                        for _ in range(batch)], data_samples=samples)
    stamps = []
    for _ in range(warmup + steps):
        log_vars = model.train_step(data, optim)
        float(log_vars['loss'])
        stamps.append(time.perf_counter())
    rate = batch * steps / (stamps[-1] - stamps[warmup - 1])
print(json.dumps({'samples_per_s': rate}))
"""


def toy_data_share(epochs: int, work: Path) -> dict:
    """Train the toy TSM recipe for `epochs` and read data time vs step time from log.jsonl."""
    from vidact.data.synth_video import synth_recognition

    data = work / "synth"
    if not (data / "train_list_videos.txt").is_file():
        synth_recognition(data)
    sets = []
    for split, ann in (("train", "train"), ("val", "val"), ("test", "val")):
        sets += ["--set", f"data.{split}.ann_file={data / f'{ann}_list_videos.txt'}",
                 "--set", f"data.{split}.data_prefix={data}"]
    run_dir = work / "toy_run"
    shutil.rmtree(run_dir, ignore_errors=True)  # log.jsonl appends: start clean
    cmd = [sys.executable, "-m", "vidact", "train", str(ROOT / "recipes" / "toy" / "tsm.yaml"), "--work-dir",
           str(run_dir), "--no-validate", "--json", "--set", f"total_epochs={epochs}", *sets]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    train = [r for r in records if r.get("mode") == "train"]
    data_time = sum(r["data_time"] for r in train)
    step_time = sum(r["time"] for r in train)
    return {"epochs": epochs, "wall_s": wall, "data_time_s": data_time, "step_time_s": step_time,
            "data_share": data_time / (data_time + step_time)}


def _one(kind: str, variant: str, args: argparse.Namespace, work: Path) -> float:
    """One timing in a fresh process under the malloc settings of `variant`."""
    if kind == "mmaction2":
        script = work / "peer_engine.py"
        script.write_text(PEER_SCRIPT)
        cmd = [args.mmaction_python, str(script),
               *(str(v) for v in (args.warmup, args.steps, BATCH, SEGMENTS, SIZE, CLASSES))]
    else:
        cmd = [sys.executable, __file__, "--only", kind, "--warmup", str(args.warmup), "--steps", str(args.steps),
               "--workdir", str(work)]
    if args.threads:
        cmd += ["--threads", str(args.threads)] if kind != "mmaction2" else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | VARIANTS[variant]
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if out.returncode:
        raise SystemExit(f"{kind} ({variant}) run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["samples_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--mmaction-python", default=None, help="python of the MMAction2 venv (benchmarks/peers.sh)")
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--toy-epochs", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--only", choices=KINDS[:2], default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_engine_"))
    work.mkdir(parents=True, exist_ok=True)
    if args.only:
        rate = (time_vidact(args.warmup, args.steps, work / "engine") if args.only == "vidact"
                else time_bare(args.warmup, args.steps))
        print(json.dumps({"samples_per_s": rate}))
        return
    kinds = KINDS if args.mmaction_python else KINDS[:2]
    print(f"TSM R50, {SEGMENTS} segments, {SIZE}x{SIZE}, batch {BATCH}, CPU, {torch.get_num_threads()} threads; "
          f"{args.warmup} warm-up + {args.steps} timed steps, best of {args.rounds} interleaved rounds")
    if not args.mmaction_python:
        print("MMAction2: skipped (give --mmaction-python; benchmarks/peers.sh creates its venv)")
    runs = [(kind, variant) for variant in args.variants for kind in kinds]
    rates: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
    for r in range(args.rounds):
        order = runs[r % len(runs):] + runs[: r % len(runs)]  # rotate who goes first
        for kind, variant in order:
            rates[kind, variant].append(_one(kind, variant, args, work / f"round_{r}"))
        print(f"  round {r + 1}: " + ", ".join(f"{k}/{v} {rates[k, v][-1]:.3f}" for k, v in runs) + " samples/s",
              flush=True)
    best = {run: max(values) for run, values in rates.items()}
    print(f"{'malloc':<8} {'bare':>8} {'vidact':>8} {'MMAction2':>10}  overhead vs bare  vidact/MMAction2 (samples/s)")
    for variant in args.variants:
        bare, ours = best["bare", variant], best["vidact", variant]
        peer = best.get(("mmaction2", variant))
        peer_text = f"{peer:>10.3f}" if peer else f"{'-':>10}"
        ratio = f"{ours / peer:.2f}x" if peer else "-"
        print(f"{variant:<8} {bare:>8.3f} {ours:>8.3f} {peer_text}  {100 * (bare / ours - 1):+15.1f}%  {ratio:>16}")
    if args.toy_epochs:
        share = toy_data_share(args.toy_epochs, work)
        print(f"toy TSM recipe, {share['epochs']} epoch(s): wall {share['wall_s']:.1f} s, waiting on data "
              f"{share['data_time_s']:.1f} s of {share['data_time_s'] + share['step_time_s']:.1f} s "
              f"({100 * share['data_share']:.1f}%)")


if __name__ == "__main__":
    main()
