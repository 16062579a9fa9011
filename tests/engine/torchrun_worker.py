"""Worker for tests/engine/test_torchrun.py: the same code runs alone or as one of torchrun's ranks.

    python torchrun_worker.py ROOT OUT_DIR                                   # one process
    python -m torch.distributed.run --nproc-per-node=2 ... torchrun_worker.py ROOT OUT_DIR

ROOT holds the tiny synthetic dataset (`train_list_videos.txt`, an even number of videos, and
`eval_list_videos.txt`, an odd number). Every rank writes `OUT_DIR/rank{r}.pt` (tensors only, loads
with weights_only=True):

- `scores`: `Trainer.predict` of the freshly initialised model on the eval list, per loader kind
  (`ordered`: the OrderedDistributedSampler `build_eval_loader` uses; `padded`: a DistributedSampler
  without shuffle, which repeats samples to even out the ranks, as the reference's DistEvalHook),
  each with gpu_collect False and True. Rank 0 holds every row; other ranks an empty array.
- `grads`: the gradient of every parameter just before each optimizer step of `Trainer.fit`.
- `params`: the parameters after training.
- `buffers_trained` / `buffers_synced`: the BatchNorm buffers after training, before and after
  `broadcast_bn_buffers`; `trained`: `Trainer.predict` after that broadcast (gpu_collect False and
  True) and, as `alone`, this rank's model scoring the whole eval list by itself.
- `recipe_run`: `train_recipe`'s validation metrics (one epoch, (Dist)EvalHook with gpu_collect)
  and, on rank 0, the same metrics recomputed alone from the epoch's checkpoint (`alone_*`).

Alone, the trainer accumulates 2 batches of 1 per step; under torchrun, each of the 2 ranks takes
a batch of 1 and DDP averages them. Both see the pairs of the same seeded permutation in the same
order (DistributedSampler: rank r takes positions r, r + 2, ...; alone it takes the whole list),
so both steps average the gradients of the same two samples. BatchNorm normalises each sample by
its own statistics either way; the pipeline is deterministic (test-mode frame sampling, no
augmentation, no dropout, no loader workers).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "toy" / "tsm.yaml"
EPOCHS = 2
SEED = 0


def recipe_overrides(root: Path) -> list[str]:
    """Shrink the toy TSM recipe to one ResNet stage on `root`, with a deterministic train pipeline."""
    sets = [f"data.train.ann_file={root / 'train_list_videos.txt'}", f"data.train.data_prefix={root}",
            f"data.val.ann_file={root / 'eval_list_videos.txt'}", f"data.val.data_prefix={root}"]
    sets += ["model.backbone.num_stages=1", "model.backbone.out_indices=[0]", "model.backbone.strides=[1]",
             "model.backbone.dilations=[1]", "model.cls_head.in_channels=64", "model.cls_head.num_classes=2",
             "data.videos_per_gpu=1", "data.workers_per_gpu=0", "data.val_dataloader.videos_per_gpu=2",
             "data.train.pipeline[1].test_mode=true"]
    return sets


def main(root: Path, out_dir: Path) -> None:
    from vidact.data.build import build_dataloader, build_dataset
    from vidact.engine.distributed import (
        broadcast_bn_buffers,
        cleanup,
        init_distributed,
    )
    from vidact.engine.runs import build_eval_loader
    from vidact.engine.trainer import Trainer, predict_scores, seed_everything
    from vidact.models import build_model
    from vidact.schemas.load import load_recipe

    info = init_distributed("gloo")
    recipe = load_recipe(RECIPE, recipe_overrides(root))
    data = recipe.data
    seed_everything(SEED)
    model = build_model(recipe.model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    train_loader = build_dataloader(build_dataset(data.train), 1, 0, dist=True, shuffle=True, seed=SEED)
    trainer = Trainer(model, optimizer, train_loader=train_loader, work_dir=out_dir / "work", max_epochs=EPOCHS,
                      device="cpu", accumulate=1 if info.is_distributed else 2, dist_info=info, seed=SEED)

    ordered = build_eval_loader(data.val, data.val_dataloader, data, info.is_distributed)
    padded = build_dataloader(ordered.dataset, 2, 0, dist=True, shuffle=False)
    whole_loader = build_eval_loader(data.val, data.val_dataloader, data, distributed=False)
    eval_loaders = {"ordered": ordered, "padded": padded}
    scores = {}
    for kind, loader in eval_loaders.items():
        for gpu_collect in (False, True):
            scores[f"{kind}_gpu_collect_{gpu_collect}"] = torch.from_numpy(trainer.predict(loader, gpu_collect))

    names = [name for name, p in trainer.bare_model.named_parameters() if p.requires_grad]
    grads: list[dict[str, torch.Tensor]] = []

    def record_grads(opt: torch.optim.Optimizer, args: object, kwargs: object) -> None:
        params = dict(trainer.bare_model.named_parameters())
        grads.append({name: params[name].grad.detach().clone() for name in names})

    optimizer.register_step_pre_hook(record_grads)
    trainer.fit()
    params = {name: p.detach().clone() for name, p in trainer.bare_model.named_parameters()}
    # After training, DDP has left each rank with running statistics updated by its own last batch;
    # rank 0's are broadcast (what the reference DistEvalHook does) before scoring again, and the
    # gathered scores must then equal rank 0's model scoring the whole list alone.
    buffers_trained = {name: b.detach().clone() for name, b in trainer.bare_model.named_buffers()}
    broadcast_bn_buffers(trainer.bare_model)
    buffers_synced = {name: b.detach().clone() for name, b in trainer.bare_model.named_buffers()}
    trained = {f"gpu_collect_{g}": torch.from_numpy(trainer.predict(eval_loaders["ordered"], g)) for g in (False, True)}
    trained["alone"] = torch.from_numpy(predict_scores(trainer.bare_model, whole_loader, trainer.device))
    recipe_run = run_recipe(recipe, out_dir / "recipe", info, whole_loader)
    torch.save({"world_size": info.world_size, "scores": scores, "grads": grads, "params": params,
                "trained": trained,
                "buffers_trained": buffers_trained, "buffers_synced": buffers_synced,
                "recipe_run": recipe_run,
                "train_samples": len(train_loader.dataset), "eval_samples": len(ordered.dataset)},
               out_dir / f"rank{info.rank}.pt")
    cleanup()


def run_recipe(recipe, work_dir: Path, info, whole_loader) -> dict[str, torch.Tensor]:
    """`train_recipe` for one epoch, validating through (Dist)EvalHook with gpu_collect; returns the
    hook's metrics and, on rank 0, the same metrics recomputed alone from the epoch's checkpoint."""
    from vidact.engine.runs import train_recipe
    from vidact.engine.trainer import load_checkpoint, predict_scores
    from vidact.models import build_model

    plain = recipe.to_plain()
    plain.update(total_epochs=1, lr_config={"policy": "fixed"}, optimizer_config={"grad_clip": None})
    plain["evaluation"].update(gpu_collect=True, save_best=False)
    recipe = type(recipe).model_validate(plain)
    result = train_recipe(recipe, work_dir=work_dir, dist_info=info)
    out = {name: torch.tensor(value) for name, value in result["metrics"].items()}
    if info.rank == 0:
        model = build_model(recipe.model)
        model.load_state_dict(load_checkpoint(work_dir / "epoch_1.pth")["state_dict"])
        scores = predict_scores(model, whole_loader, torch.device("cpu"))
        evaluation = recipe.evaluation
        alone = whole_loader.dataset.evaluate(list(scores), metrics=list(evaluation.metrics),
                                              topk=tuple(evaluation.topk))
        out.update({f"alone_{name}": torch.tensor(float(value)) for name, value in alone.items()})
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
