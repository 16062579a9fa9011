"""The training engine's parts: optimizers and schedules, checkpoints, and distributed helpers.

The Trainer builds on these: `build_optimizer`, `build_lr_scheduler`, `save_checkpoint`/`resume`
and `init_distributed`/`allreduce_grads`/`gather_ordered`.
"""

from vidact.engine.checkpoint import (
    ResumeState,
    check_compatible,
    find_latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    restore_rng,
    resume,
    rng_state,
    save_checkpoint,
    update_links,
)
from vidact.engine.distributed import (
    DistInfo,
    RankZeroFilter,
    allreduce_grads,
    barrier,
    cleanup,
    gather_ordered,
    get_rank,
    get_world_size,
    init_distributed,
    is_main_process,
    rank_zero_only,
)
from vidact.engine.optim import (
    CONSTRUCTORS,
    OPTIMIZERS,
    CopyOfSGD,
    DefaultOptimizerConstructor,
    TSMOptimizerConstructor,
    build_optimizer,
    clip_grads,
    unwrap_model,
)
from vidact.engine.schedules import LR_POLICIES, LrSchedule, build_lr_scheduler

__all__ = [
    "CONSTRUCTORS",
    "LR_POLICIES",
    "OPTIMIZERS",
    "CopyOfSGD",
    "DefaultOptimizerConstructor",
    "DistInfo",
    "LrSchedule",
    "RankZeroFilter",
    "ResumeState",
    "TSMOptimizerConstructor",
    "allreduce_grads",
    "barrier",
    "build_lr_scheduler",
    "build_optimizer",
    "check_compatible",
    "cleanup",
    "clip_grads",
    "find_latest_checkpoint",
    "gather_ordered",
    "get_rank",
    "get_world_size",
    "init_distributed",
    "is_main_process",
    "load_checkpoint",
    "prune_checkpoints",
    "rank_zero_only",
    "resume",
    "restore_rng",
    "rng_state",
    "save_checkpoint",
    "unwrap_model",
    "update_links",
]
