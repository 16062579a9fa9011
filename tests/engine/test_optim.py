"""Optimizers by name, TSM and default parameter groups, gradient clipping."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidact.engine.optim import (
    OPTIMIZERS,
    CopyOfSGD,
    DefaultOptimizerConstructor,
    TSMOptimizerConstructor,
    build_optimizer,
    clip_grads,
)
from vidact.errors import RecipeError
from vidact.models import build_model
from vidact.schemas import spec_names
from vidact.schemas.optim import SGDSpec

LR, WD = 0.01, 1e-4


@pytest.fixture(scope="module")
def tsm() -> nn.Module:
    torch.manual_seed(0)
    return build_model(
        {
            "type": "Recognizer2D",
            "backbone": {"type": "ResNetTSM", "depth": 18, "pretrained": None, "num_segments": 4},
            "cls_head": {"type": "TSMHead", "num_classes": 4, "in_channels": 512, "num_segments": 4},
        }
    )


def test_registry_matches_the_spec_union() -> None:
    assert OPTIMIZERS.names() == spec_names("optimizers")


def test_copy_of_sgd_steps_like_sgd() -> None:
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    b = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    b.load_state_dict(a.state_dict())
    kwargs = dict(lr=0.1, momentum=0.9, dampening=0, weight_decay=1e-3, nesterov=True)
    opt_a, opt_b = torch.optim.SGD(a.parameters(), **kwargs), CopyOfSGD(b.parameters(), **kwargs)
    assert isinstance(opt_b, torch.optim.SGD)
    for _ in range(5):
        x = torch.randn(8, 5)
        for model, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)


def _groups(opt: torch.optim.Optimizer) -> dict[str, dict]:
    return {g["name"]: g for g in opt.param_groups}


@pytest.mark.parametrize("fc_lr5", [False, True])
def test_tsm_groups(tsm: nn.Module, fc_lr5: bool) -> None:
    opt = TSMOptimizerConstructor(
        {"type": "SGD", "lr": LR, "momentum": 0.9, "weight_decay": WD}, {"fc_lr5": fc_lr5}
    )(tsm)
    groups = _groups(opt)
    assert list(groups) == [
        "first_conv_weight", "first_conv_bias", "normal_weight", "normal_bias", "bn", "lr5_weight", "lr10_bias"
    ]  # fmt: skip
    # every parameter in exactly one group
    ids = [id(p) for g in opt.param_groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in tsm.parameters())
    assert len(ids) == len(set(ids))

    expected = {
        "first_conv_weight": (1, 1),
        "first_conv_bias": (2, 0),
        "normal_weight": (1, 1),
        "normal_bias": (2, 0),
        "bn": (1, 0),
        "lr5_weight": (5, 1),
        "lr10_bias": (10, 0),
    }
    for name, (lr_mult, wd_mult) in expected.items():
        assert groups[name]["lr"] == pytest.approx(LR * lr_mult), name
        assert groups[name]["weight_decay"] == pytest.approx(WD * wd_mult), name

    assert [id(p) for p in groups["first_conv_weight"]["params"]] == [id(tsm.backbone.conv1.weight)]
    bn_params = {id(p) for m in tsm.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters()}
    assert {id(p) for p in groups["bn"]["params"]} == bn_params

    fc = tsm.cls_head.fc_cls
    normal_w = {id(p) for p in groups["normal_weight"]["params"]}
    normal_b = {id(p) for p in groups["normal_bias"]["params"]}
    if fc_lr5:
        assert [id(p) for p in groups["lr5_weight"]["params"]] == [id(fc.weight)]
        assert [id(p) for p in groups["lr10_bias"]["params"]] == [id(fc.bias)]
        assert id(fc.weight) not in normal_w and id(fc.bias) not in normal_b
    else:
        assert groups["lr5_weight"]["params"] == [] and groups["lr10_bias"]["params"] == []
        assert id(fc.weight) in normal_w and id(fc.bias) in normal_b


def test_tsm_first_conv_bias_and_linear_layers() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1), nn.Flatten(), nn.Linear(4, 2))
    groups = _groups(TSMOptimizerConstructor({"type": "SGD", "lr": 1.0, "weight_decay": 0.5}, {"fc_lr5": True})(model))
    assert [id(p) for p in groups["first_conv_bias"]["params"]] == [id(model[0].bias)]
    assert [id(p) for p in groups["normal_bias"]["params"]] == [id(model[2].bias)]
    # no cls_head: the model's last Linear is "the last fc"
    assert [id(p) for p in groups["lr5_weight"]["params"]] == [id(model[4].weight)]


def test_tsm_refuses_unknown_parametrised_modules() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Embedding(3, 4))
    with pytest.raises(RecipeError, match="Embedding"):
        TSMOptimizerConstructor({"type": "SGD", "lr": 0.1})(model)
    with pytest.raises(ValueError, match="Embedding"):  # the reference raises ValueError
        TSMOptimizerConstructor({"type": "SGD", "lr": 0.1})(model)


def test_tsm_leaves_a_containers_bare_parameters_out_with_a_warning(caplog) -> None:
    # Reference: only a leaf module of an unknown type with parameters is an error; a non-leaf
    # module's own parameters fall through every branch, so they join no group (not trained).
    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.head = nn.Sequential(nn.Linear(4, 2))
            self.head.temperature = nn.Parameter(torch.ones(1))
            self.scale = nn.Parameter(torch.ones(1))

    model = Scaled()
    with caplog.at_level("WARNING", logger="vidact.engine.optim"):
        opt = TSMOptimizerConstructor({"type": "SGD", "lr": 0.1})(model)
    in_groups = {id(p) for g in opt.param_groups for p in g["params"]}
    assert id(model.scale) not in in_groups and id(model.head.temperature) not in in_groups
    assert in_groups == {id(p) for p in (model.conv.weight, model.conv.bias, *model.head[0].parameters())}
    assert len(opt.param_groups) == 7
    (record,) = [r for r in caplog.records if "not trained" in r.getMessage()]
    assert "scale, head.temperature belong to no parameter group" in record.getMessage()


def test_tsm_wrapped_in_ddp_like_module(tsm: nn.Module) -> None:
    class Wrapper(nn.DataParallel):
        pass

    opt = TSMOptimizerConstructor({"type": "SGD", "lr": LR}, {"fc_lr5": True})(Wrapper(tsm))
    assert len(_groups(opt)["lr5_weight"]["params"]) == 1


def test_default_constructor_multipliers() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
    plain = DefaultOptimizerConstructor({"type": "SGD", "lr": 0.1, "weight_decay": 0.01})(model)
    assert len(plain.param_groups) == 1 and plain.param_groups[0]["lr"] == 0.1

    opt = DefaultOptimizerConstructor(
        {"type": "SGD", "lr": 0.1, "weight_decay": 0.01},
        {"bias_lr_mult": 2.0, "bias_decay_mult": 0.0, "norm_decay_mult": 0.0},
    )(model)
    by_param = {id(p): (g["lr"], g["weight_decay"]) for g in opt.param_groups for p in g["params"]}
    assert by_param[id(model[0].weight)] == pytest.approx((0.1, 0.01))
    assert by_param[id(model[0].bias)] == pytest.approx((0.2, 0.0))
    assert by_param[id(model[1].weight)] == pytest.approx((0.1, 0.0))
    assert by_param[id(model[1].bias)] == pytest.approx((0.1, 0.0))  # bias_lr_mult skips norm layers
    assert by_param[id(model[3].bias)] == pytest.approx((0.2, 0.0))
    assert len(by_param) == len(list(model.parameters()))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "CopyOfSGD"])
def test_build_optimizer_by_name(name: str) -> None:
    opt = build_optimizer(nn.Linear(2, 2), {"type": name, "lr": 0.05})
    assert type(opt).__name__ == name and opt.defaults["lr"] == 0.05


def test_build_optimizer_from_spec_and_errors(tsm: nn.Module) -> None:
    spec = SGDSpec(
        type="SGD",
        lr=LR,
        momentum=0.9,
        weight_decay=WD,
        constructor="TSMOptimizerConstructor",
        paramwise_cfg={"fc_lr5": True},
    )
    opt = build_optimizer(tsm, spec)
    assert opt.defaults["momentum"] == 0.9 and _groups(opt)["lr5_weight"]["lr"] == pytest.approx(5 * LR)
    with pytest.raises(RecipeError, match="optimizer"):
        build_optimizer(tsm, {"type": "SDG", "lr": 0.1})
    with pytest.raises(RecipeError, match="lr"):
        build_optimizer(tsm, {"type": "SGD"})


def test_clip_grads() -> None:
    a, b, frozen = (nn.Parameter(torch.zeros(2)) for _ in range(3))
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 4.0])
    frozen.requires_grad_(False)
    norm = clip_grads([a, b, frozen], max_norm=1.0)
    assert float(norm) == pytest.approx(5.0)
    assert float(torch.cat([a.grad, b.grad]).norm()) == pytest.approx(1.0, rel=1e-5)
    assert clip_grads([nn.Parameter(torch.zeros(1))], max_norm=1.0) is None
