"""Shared checks for model tests: one optimisation step, ImageNet ResNet key lists."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def imagenet_resnet_keys(depth: int) -> set[str]:
    """The state-dict keys of the common ImageNet ResNet layout (torchvision's), written out from
    the architecture: stem conv1/bn1, layer{1-4}.{block}.conv{k}/bn{k}, downsample.0/1, fc."""
    blocks = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}[
        depth
    ]
    bottleneck = depth >= 50
    keys = {"conv1.weight", *(f"bn1.{s}" for s in _BN), "fc.weight", "fc.bias"}
    for stage, count in enumerate(blocks, start=1):
        for block in range(count):
            prefix = f"layer{stage}.{block}"
            for k in range(1, 4 if bottleneck else 3):
                keys.add(f"{prefix}.conv{k}.weight")
                keys.update(f"{prefix}.bn{k}.{s}" for s in _BN)
            if block == 0 and (bottleneck or stage > 1):
                keys.add(f"{prefix}.downsample.0.weight")
                keys.update(f"{prefix}.downsample.1.{s}" for s in _BN)
    return keys


def _pooled(features: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
    parts = features if isinstance(features, tuple) else (features,)
    return torch.cat([p.flatten(2).mean(dim=2) for p in parts], dim=1)


def assert_one_step_trains(
    backbone: nn.Module,
    x: torch.Tensor,
    *,
    num_samples: int,
    lr: float = 0.02,
    may_be_zero: Iterable[str] = (),
) -> None:
    """One SGD step through `backbone` and a fixed linear probe: every trainable parameter gets a
    finite gradient, non-zero except names containing one of `may_be_zero`, and a step of size `lr`
    (or 1/10, 1/100 of it) along the gradient lowers the loss on the batch."""
    torch.manual_seed(0)
    backbone.train()
    feats = _pooled(backbone(x))
    probe = nn.Linear(feats.shape[1], 3)
    labels = torch.arange(num_samples) % 3

    def loss_of(f: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(probe(f.reshape(num_samples, -1, f.shape[1]).mean(dim=1)), labels)

    loss0 = loss_of(feats)
    loss0.backward()
    skip = tuple(may_be_zero)
    for name, param in backbone.named_parameters():
        if not param.requires_grad:
            continue
        assert param.grad is not None, f"{name}: no gradient"
        assert torch.isfinite(param.grad).all(), f"{name}: non-finite gradient"
        if not any(s in name for s in skip):
            assert param.grad.abs().sum() > 0, f"{name}: zero gradient"
    # the gradient must be a descent direction: some small step along it lowers the loss
    start = {k: v.clone() for k, v in backbone.state_dict().items()}
    losses = []
    for step in (lr, lr / 10, lr / 100):
        backbone.load_state_dict(start)
        with torch.no_grad():
            for param in backbone.parameters():
                if param.grad is not None:
                    param.sub_(step * param.grad)
            losses.append(loss_of(_pooled(backbone(x))).item())
        if losses[-1] < loss0.item():
            return
    raise AssertionError(f"no step along the gradient lowered the loss {loss0.item():.4f}: {losses}")
