"""Training-step throughput: vidact's Trainer against a bare PyTorch loop on the same model (and MMAction2).

Model: the `model` section of `recipes/tsm_r50_kinetics400.yaml` (ResNetTSM-50, 8 segments,
400 classes; random init, no weights are downloaded), its optimizer (SGD through
`TSMOptimizerConstructor`) and grad clipping (max_norm 20). Input: one in-memory batch of
2 x 8 x 3 x 224 x 224 random floats and random labels, so no data loading is timed.

- bare: `loss = sum(losses); loss.backward(); clip_grad_norm_; optimizer.step(); zero_grad()`,
  once with glibc malloc's defaults and once with the setting the Trainer applies on the CPU
  (`vidact.engine.malloc.keep_freed_memory`: freed buffers are kept for reuse instead of being
  unmapped and faulted in again every step). The engine overhead is measured against the latter.
- vidact: `Trainer.fit()` with the hooks `vidact train` uses (LoggerHook with its JSON-lines log,
  CheckpointHook with mid-epoch checkpoints off; the epoch-end checkpoint falls outside the
  timed iterations), over a list that yields the same batch.
- MMAction2 (`--mmaction-python PY`): its `Recognizer2D` + `ResNetTSM` + `TSMHead` with the same
  settings, timed through `model.train_step(data, optim_wrapper)` (what its training loop calls
  per iteration; its hooks are not included) in a subprocess of that interpreter.

Each timing runs in a fresh process (so neither inherits the other's allocator state), skips
`--warmup` steps and times the next `--steps`; bare and vidact alternate for `--rounds` rounds,
swapping which goes first, and the best round of each is kept (the machine is shared and noisy).
Engine overhead = bare (same malloc) samples/s / vidact samples/s - 1 (goal: at most 5%).

With `--toy-epochs N` it also trains `recipes/toy/tsm.yaml` on `vidact dataset synth` data for N
epochs and prints the share of the step time spent waiting for data (from `log.jsonl`).

Prints figures; asserts nothing. Example:

    python benchmarks/bench_engine.py --steps 8 --rounds 3 --mmaction-python /tmp/mmvenv/bin/python
"""

from __future__ import annotations

import argparse
import json
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
KINDS = ("bare", "bare-kept", "vidact")


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


def time_bare(warmup: int, steps: int, keep_memory: bool = False) -> float:
    if keep_memory:
        from vidact.engine.malloc import keep_freed_memory

        keep_freed_memory()
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
warmup, steps, rounds, batch, segs, size, classes = (int(v) for v in sys.argv[1:8])
best = 0.0
for _ in range(rounds):
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
    best = max(best, batch * steps / (stamps[-1] - stamps[warmup - 1]))
print(json.dumps({'samples_per_s': best}))
"""


def time_mmaction(python: str, warmup: int, steps: int, rounds: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(PEER_SCRIPT)
    args = [python, fh.name, *(str(v) for v in (warmup, steps, rounds, BATCH, SEGMENTS, SIZE, CLASSES))]
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"MMAction2 run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["samples_per_s"]


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


def _one(kind: str, args: argparse.Namespace, work: Path) -> float:
    """One timing in a fresh interpreter."""
    cmd = [sys.executable, __file__, "--only", kind, "--warmup", str(args.warmup), "--steps", str(args.steps),
           "--workdir", str(work)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{kind} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["samples_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--mmaction-python", default=None)
    parser.add_argument("--toy-epochs", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--only", choices=KINDS, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_engine_"))
    work.mkdir(parents=True, exist_ok=True)
    if args.only:
        rate = (time_vidact(args.warmup, args.steps, work / "engine") if args.only == "vidact"
                else time_bare(args.warmup, args.steps, keep_memory=args.only == "bare-kept"))
        print(json.dumps({"samples_per_s": rate}))
        return
    print(f"TSM R50, {SEGMENTS} segments, {SIZE}x{SIZE}, batch {BATCH}, CPU, {torch.get_num_threads()} threads; "
          f"{args.warmup} warm-up + {args.steps} timed steps, best of {args.rounds} alternating rounds")
    rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for r in range(args.rounds):
        order = KINDS[r % 3:] + KINDS[: r % 3]  # rotate who goes first
        for kind in order:
            rates[kind].append(_one(kind, args, work / f"round_{r}"))
        print(f"  round {r + 1}: " + ", ".join(f"{k} {rates[k][-1]:.3f}" for k in KINDS) + " samples/s", flush=True)
    best = {kind: max(values) for kind, values in rates.items()}
    e = best["vidact"]
    print(f"bare loop, malloc defaults     {best['bare']:.3f} samples/s")
    print(f"bare loop, freed memory kept   {best['bare-kept']:.3f} samples/s")
    print(f"vidact Trainer                 {e:.3f} samples/s   overhead vs the same bare loop "
          f"{100 * (best['bare-kept'] / e - 1):+.1f}% (goal <= 5%); vs malloc defaults "
          f"{100 * (best['bare'] / e - 1):+.1f}%")
    if args.mmaction_python:
        m = time_mmaction(args.mmaction_python, args.warmup, args.steps, args.rounds)
        print(f"MMAction2 1.2.0 train_step loop {m:.3f} samples/s   vidact / MMAction2 {e / m:.2f}x")
    if args.toy_epochs:
        share = toy_data_share(args.toy_epochs, work)
        print(f"toy TSM recipe, {share['epochs']} epoch(s): wall {share['wall_s']:.1f} s, waiting on data "
              f"{share['data_time_s']:.1f} s of {share['data_time_s'] + share['step_time_s']:.1f} s "
              f"({100 * share['data_share']:.1f}%)")


if __name__ == "__main__":
    main()
