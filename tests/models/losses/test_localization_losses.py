"""Localization losses against element-by-element implementations of the reference definitions:
the ratio-balanced binary logistic loss and BMN's TEM, PEM regression and PEM classification terms."""

from __future__ import annotations

import math

import pytest
import torch

from vidact.models.build import build_loss
from vidact.models.losses import BinaryLogisticRegressionLoss, BMNLoss, binary_logistic_regression_loss


def _slow_blr(score: list[float], label: list[float], threshold=0.5, ratio_range=(1.05, 21), eps=1e-5) -> float:
    positives = sum(1 for y in label if y > threshold)
    ratio = len(label) / max(positives, 1)
    ratio = min(max(ratio, ratio_range[0]), ratio_range[1])
    coef_0, coef_1 = 0.5 * ratio / (ratio - 1), 0.5 * ratio
    total = 0.0
    for p, y in zip(score, label):
        if y > threshold:
            total += coef_1 * math.log(p + eps)
        else:
            total += coef_0 * math.log(1 - p + eps)
    return -total / len(label)


@pytest.mark.parametrize("num_pos", [0, 1, 3, 20, 40])
def test_binary_logistic_regression_matches_slow(num_pos: int) -> None:
    gen = torch.Generator().manual_seed(num_pos)
    score = torch.rand(4, 10, generator=gen, dtype=torch.float64)
    label = torch.rand(4, 10, generator=gen, dtype=torch.float64) * 0.5
    label.view(-1)[:num_pos] = 0.75  # ratio 40 (clipped to 21), 13.3, 2, 1 (clipped to 1.05), none
    expected = _slow_blr(score.view(-1).tolist(), label.view(-1).tolist())
    assert binary_logistic_regression_loss(score, label).item() == pytest.approx(expected, rel=1e-9)
    assert BinaryLogisticRegressionLoss()(score, label).item() == pytest.approx(expected, rel=1e-9)


def test_binary_logistic_regression_threshold_and_range() -> None:
    score = torch.tensor([0.2, 0.9, 0.6, 0.1], dtype=torch.float64)
    label = torch.tensor([0.1, 0.8, 0.6, 0.3], dtype=torch.float64)
    got = binary_logistic_regression_loss(score, label, threshold=0.7, ratio_range=(2.0, 3.0), eps=1e-3)
    expected = _slow_blr(score.tolist(), label.tolist(), threshold=0.7, ratio_range=(2.0, 3.0), eps=1e-3)
    assert got.item() == pytest.approx(expected, rel=1e-9)


def _slow_pem_cls(pred, gt, mask, threshold=0.9, ratio_range=(1.05, 21), eps=1e-5) -> float:
    cells = [(p, g, m) for p, g, m in zip(pred, gt, mask)]
    pos = [(p, g) for p, g, m in cells if g > threshold]
    neg = [(p, g) for p, g, m in cells if g <= threshold and m > 0]
    num_pos = max(len(pos), 1)
    entries = num_pos + len(neg)
    ratio = min(max(entries / num_pos, ratio_range[0]), ratio_range[1])
    coef_0, coef_1 = 0.5 * ratio / (ratio - 1), 0.5 * ratio
    total = sum(coef_1 * math.log(p + eps) for p, _ in pos) + sum(coef_0 * math.log(1 - p + eps) for p, _ in neg)
    return -total / entries


def _slow_pem_reg(pred, gt, mask, rand_m, rand_l, high=0.7, low=0.3) -> float:
    hi = [g > high for g in gt]
    mid = [low < g <= high for g in gt]
    lo = [(0 < g <= low) and m > 0 for g, m in zip(gt, mask)]
    r_m = sum(hi) / sum(mid)
    r_l = sum(hi) / sum(lo)
    weights = []
    for i in range(len(gt)):
        keep_m = (rand_m[i] if mid[i] else 0.0) > 1 - r_m
        keep_l = (rand_l[i] if lo[i] else 0.0) > 1 - r_l
        weights.append(float(hi[i]) + float(keep_m) + float(keep_l))
    sq = sum(((p - g) * w) ** 2 for p, g, w in zip(pred, gt, weights))
    return 0.5 * sq / sum(weights)


def _bm_inputs(seed: int, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    n, d, t = 2, 6, 8
    mask = torch.triu(torch.ones(d, t, dtype=dtype)).flip(1)  # durations x starts: end inside the video
    gt = torch.rand(n, d, t, generator=gen, dtype=dtype) ** 3
    gt[0, 0, 0] = 0.95
    gt[1, 1, 2] = 0.8
    return gen, mask, gt


def test_pem_cls_loss_matches_slow() -> None:
    gen, mask, gt = _bm_inputs(0)
    gt = gt * mask
    pred = torch.rand(gt.shape, generator=gen, dtype=gt.dtype)
    got = BMNLoss.pem_cls_loss(pred, gt, mask)
    flat_mask = mask.expand_as(gt).reshape(-1).tolist()
    assert got.item() == pytest.approx(_slow_pem_cls(pred.view(-1).tolist(), gt.view(-1).tolist(), flat_mask), rel=1e-9)


def test_pem_reg_loss_matches_slow_with_the_same_draws() -> None:
    gen, mask, gt = _bm_inputs(1)
    gt = gt * mask
    pred = torch.rand(gt.shape, generator=gen, dtype=gt.dtype)
    torch.manual_seed(123)
    got = BMNLoss.pem_reg_loss(pred, gt, mask)
    torch.manual_seed(123)  # the draws the loss made: medium first, then low
    rand_m, rand_l = torch.rand_like(gt), torch.rand_like(gt)
    flat_mask = mask.expand_as(gt).reshape(-1).tolist()
    expected = _slow_pem_reg(
        pred.view(-1).tolist(), gt.view(-1).tolist(), flat_mask, rand_m.view(-1).tolist(), rand_l.view(-1).tolist()
    )
    assert got.item() == pytest.approx(expected, rel=1e-9)


def test_bmn_loss_combines_the_terms_with_reference_weights() -> None:
    gen, mask, gt = _bm_inputs(2)
    pred_bm = torch.rand(2, 2, 6, 8, generator=gen, dtype=gt.dtype)
    pred_start, pred_end = torch.rand(2, 2, 8, generator=gen, dtype=gt.dtype).unbind(1)
    gt_start, gt_end = torch.rand(2, 2, 8, generator=gen, dtype=gt.dtype).unbind(1)
    loss_fn = build_loss({"type": "BMNLoss"})
    assert isinstance(loss_fn, BMNLoss)
    torch.manual_seed(5)
    loss, tem, reg, cls = loss_fn(pred_bm, pred_start, pred_end, gt, gt_start, gt_end, mask)
    torch.manual_seed(5)
    reg_again = BMNLoss.pem_reg_loss(pred_bm[:, 0], gt * mask, mask)
    torch.testing.assert_close(reg, reg_again)
    torch.testing.assert_close(cls, BMNLoss.pem_cls_loss(pred_bm[:, 1], gt * mask, mask))
    expected_tem = _slow_blr(pred_start.reshape(-1).tolist(), gt_start.reshape(-1).tolist()) + _slow_blr(
        pred_end.reshape(-1).tolist(), gt_end.reshape(-1).tolist()
    )
    assert tem.item() == pytest.approx(expected_tem, rel=1e-9)
    torch.testing.assert_close(loss, tem + 10.0 * reg + cls)


def test_losses_are_registered_and_differentiable() -> None:
    assert isinstance(build_loss({"type": "BinaryLogisticRegressionLoss"}), BinaryLogisticRegressionLoss)
    score = torch.full((5,), 0.5, requires_grad=True)
    binary_logistic_regression_loss(score, torch.tensor([1.0, 0, 0, 0, 0])).backward()
    assert score.grad is not None and torch.isfinite(score.grad).all()
