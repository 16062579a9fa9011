"""Learning-rate schedules against hand-computed values of mmcv's formulas."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from vidact.engine.schedules import LR_POLICIES, build_lr_scheduler
from vidact.errors import RecipeError
from vidact.schemas import spec_names
from vidact.schemas.optim import CosineAnnealingLrSpec


def _optimizer(*base_lrs: float) -> torch.optim.Optimizer:
    groups = [{"params": [nn.Parameter(torch.zeros(1))], "lr": lr} for lr in base_lrs]
    return torch.optim.SGD(groups, lr=base_lrs[0])


def _lrs(cfg: dict, iterations: list[int], *, base_lrs=(0.1,), iters_per_epoch=3, total_epochs=6) -> list[list[float]]:
    sched = build_lr_scheduler(_optimizer(*base_lrs), cfg, iters_per_epoch=iters_per_epoch, total_epochs=total_epochs)
    out = []
    for i in iterations:
        sched.step(i)
        out.append(sched.get_lr())
    return out


def test_registry_matches_the_spec_union() -> None:
    assert LR_POLICIES.names() == spec_names("lr_policies")


def test_step_by_epoch_milestones() -> None:
    # 3 iterations per epoch; milestones at epochs 2 and 4 -> iterations 6 and 12
    got = _lrs({"policy": "step", "step": [2, 4]}, [0, 5, 6, 11, 12, 17], base_lrs=(0.1, 0.2))
    want = [[0.1, 0.2], [0.1, 0.2], [0.01, 0.02], [0.01, 0.02], [0.001, 0.002], [0.001, 0.002]]
    for g, w in zip(got, want):
        assert g == pytest.approx(w)


def test_step_every_n_epochs_gamma_and_min_lr() -> None:
    # step: 2 (an int) decays every 2 epochs: epoch 5 -> exponent 2
    assert _lrs({"policy": "step", "step": 2, "gamma": 0.5}, [15])[0] == pytest.approx([0.1 * 0.5**2])
    assert _lrs({"policy": "step", "step": 1, "gamma": 0.1, "min_lr": 0.005}, [9])[0] == pytest.approx([0.005])


def test_step_by_iteration() -> None:
    got = _lrs({"policy": "step", "step": [4], "by_epoch": False}, [3, 4])
    assert got == [pytest.approx([0.1]), pytest.approx([0.01])]


def test_cosine_by_epoch_min_lr_ratio() -> None:
    # epoch 3 of 10 (iteration 7, 2 per epoch): target 0.01; 0.01 + 0.5 * 0.09 * (cos(0.3 pi) + 1)
    cfg = {"policy": "CosineAnnealing", "min_lr_ratio": 0.1}
    (lr,) = _lrs(cfg, [7], iters_per_epoch=2, total_epochs=10)[0]
    assert lr == pytest.approx(0.01 + 0.045 * (0.5877852522924731 + 1))
    assert _lrs(cfg, [0], iters_per_epoch=2, total_epochs=10)[0] == pytest.approx([0.1])


def test_cosine_by_iteration_absolute_min_lr_shared_by_groups() -> None:
    # 5 of 20 iterations: cos(pi/4) = 0.70710678; min_lr is absolute, the same for every group
    cfg = {"policy": "CosineAnnealing", "min_lr": 0.0, "by_epoch": False}
    got = _lrs(cfg, [5, 20], base_lrs=(0.1, 0.3), iters_per_epoch=4, total_epochs=5)
    assert got[0] == pytest.approx([0.05 * 1.7071067811865475, 0.15 * 1.7071067811865475])
    assert got[1] == pytest.approx([0.0, 0.0], abs=1e-12)
    spec = CosineAnnealingLrSpec(policy="CosineAnnealing", min_lr=0.02, by_epoch=False)
    sched = build_lr_scheduler(_optimizer(0.1, 0.3), spec, iters_per_epoch=4, total_epochs=5)
    assert sched.lr_at(20) == pytest.approx([0.02, 0.02])


def test_fixed() -> None:
    assert _lrs({"policy": "fixed"}, [0, 17], base_lrs=(0.1, 0.5)) == [pytest.approx([0.1, 0.5])] * 2


@pytest.mark.parametrize(
    ("warmup", "iteration", "factor"),
    [
        ("linear", 0, 0.1),  # 1 - (1 - 0/5) * 0.9
        ("linear", 2, 0.46),  # 1 - (1 - 2/5) * 0.9
        ("linear", 5, 1.0),  # warmup over
        ("constant", 4, 0.1),
        ("constant", 5, 1.0),
        ("exp", 0, 0.1),  # 0.1 ** 1
        ("exp", 2, 0.1**0.6),  # 0.1 ** (1 - 2/5) = 0.251189
    ],
)
def test_warmup_factors(warmup: str, iteration: int, factor: float) -> None:
    cfg = {"policy": "fixed", "warmup": warmup, "warmup_iters": 5, "warmup_ratio": 0.1}
    assert _lrs(cfg, [iteration], base_lrs=(0.1, 0.4))[0] == pytest.approx([0.1 * factor, 0.4 * factor])


def test_warmup_multiplies_the_regular_schedule() -> None:
    # step at epoch 1 (iteration 2) inside a 4-iteration linear warmup: iteration 3 gets
    # 0.01 * (1 - (1 - 3/4) * 0.9) = 0.00775
    cfg = {"policy": "step", "step": [1], "warmup": "linear", "warmup_iters": 4, "warmup_ratio": 0.1}
    assert _lrs(cfg, [3], iters_per_epoch=2)[0] == pytest.approx([0.00775])


def test_warmup_by_epoch_converts_to_iterations() -> None:
    cfg = {"policy": "fixed", "warmup": "constant", "warmup_iters": 1, "warmup_by_epoch": True, "warmup_ratio": 0.5}
    assert _lrs(cfg, [3, 4], iters_per_epoch=4) == [pytest.approx([0.05]), pytest.approx([0.1])]


def test_state_dict_round_trip() -> None:
    cfg = {"policy": "CosineAnnealing", "min_lr": 0.0, "warmup": "linear", "warmup_iters": 3}
    opt = _optimizer(0.1, 0.2)
    sched = build_lr_scheduler(opt, cfg, iters_per_epoch=3, total_epochs=6)
    for i in range(8):
        sched.step(i)
    state = opt.state_dict(), sched.state_dict()
    assert state[1] == {"base_lrs": [0.1, 0.2], "last_iteration": 7}

    opt2 = _optimizer(0.1, 0.2)
    sched2 = build_lr_scheduler(opt2, cfg, iters_per_epoch=3, total_epochs=6)
    opt2.load_state_dict(state[0])
    sched2.load_state_dict(state[1])
    assert sched2.get_lr() == pytest.approx(sched.get_lr())
    sched.step(8), sched2.step(8)
    assert sched2.get_lr() == pytest.approx(sched.get_lr())
    assert sched.get_lr()[0] == pytest.approx(0.05 * (math.cos(math.pi * 2 / 6) + 1))
    with pytest.raises(ValueError, match="parameter groups"):
        build_lr_scheduler(_optimizer(0.1), cfg, iters_per_epoch=3, total_epochs=6).load_state_dict(state[1])


def test_invalid_spec_is_a_recipe_error() -> None:
    with pytest.raises(RecipeError, match="lr_config"):
        _lrs({"policy": "poly"}, [0])
    with pytest.raises(RecipeError, match="min_lr"):
        _lrs({"policy": "CosineAnnealing"}, [0])
