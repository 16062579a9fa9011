"""Classification losses against hand computation: hard and soft cross entropy, class weights,
loss_weight, NLL and BCE on logits."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from vidact.models.losses import BCELossWithLogits, CrossEntropyLoss, NLLLoss
from vidact.models.losses.base import BaseWeightedLoss

SCORES = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
HARD = torch.tensor([0, 2])


def _log_softmax(row: list[float]) -> list[float]:
    norm = math.log(sum(math.exp(v) for v in row))
    return [v - norm for v in row]


def test_cross_entropy_hard_labels_by_hand() -> None:
    by_hand = -(_log_softmax([2.0, 0.0, -1.0])[0] + _log_softmax([0.5, 0.5, 3.0])[2]) / 2
    assert CrossEntropyLoss()(SCORES, HARD).item() == pytest.approx(by_hand, rel=1e-6)
    assert CrossEntropyLoss(loss_weight=0.5)(SCORES, HARD).item() == pytest.approx(by_hand / 2, rel=1e-6)


def test_cross_entropy_class_weight_is_a_weighted_mean() -> None:
    weights = (1.0, 2.0, 3.0)
    rows = [_log_softmax([2.0, 0.0, -1.0])[0], _log_softmax([0.5, 0.5, 3.0])[2]]
    by_hand = -(1.0 * rows[0] + 3.0 * rows[1]) / (1.0 + 3.0)
    assert CrossEntropyLoss(class_weight=weights)(SCORES, HARD).item() == pytest.approx(by_hand, rel=1e-6)


def test_cross_entropy_soft_labels_by_hand() -> None:
    soft = torch.tensor([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]])
    rows = [_log_softmax(r) for r in SCORES.tolist()]
    per_row = [-sum(y * lp for y, lp in zip(ys, lps)) for ys, lps in zip(soft.tolist(), rows)]
    assert CrossEntropyLoss()(SCORES, soft).item() == pytest.approx(sum(per_row) / 2, rel=1e-6)

    w = [1.0, 2.0, 3.0]
    weighted = -sum(y * wc * lp for ys, lps in zip(soft.tolist(), rows) for y, wc, lp in zip(ys, w, lps))
    norm = sum(y * wc for ys in soft.tolist() for y, wc in zip(ys, w))
    assert CrossEntropyLoss(class_weight=w)(SCORES, soft).item() == pytest.approx(weighted / norm, rel=1e-6)


def test_soft_labels_equal_hard_ones_when_one_hot() -> None:
    one_hot = F.one_hot(HARD, 3).float()
    torch.testing.assert_close(CrossEntropyLoss()(SCORES, one_hot), CrossEntropyLoss()(SCORES, HARD))


def test_class_weight_follows_the_module_and_stays_out_of_the_state_dict() -> None:
    loss = CrossEntropyLoss(class_weight=(1.0, 2.0, 3.0))
    assert loss.state_dict() == {}
    assert loss.double().class_weight.dtype == torch.float64


def test_nll_loss_on_log_probabilities() -> None:
    log_probs = SCORES.log_softmax(dim=1)
    expected = -(log_probs[0, 0] + log_probs[1, 2]) / 2 * 3.0
    torch.testing.assert_close(NLLLoss(loss_weight=3.0)(log_probs, HARD), expected)


def test_bce_with_logits_and_class_weight_by_hand() -> None:
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    w = [1.0, 0.5, 2.0]
    total = 0.0
    for xs, ys in zip(SCORES.tolist(), targets.tolist()):
        for x, y, wc in zip(xs, ys, w):
            p = 1 / (1 + math.exp(-x))
            total -= wc * (y * math.log(p) + (1 - y) * math.log(1 - p))
    assert BCELossWithLogits(class_weight=w)(SCORES, targets).item() == pytest.approx(total / 6, rel=1e-6)


def test_dict_results_scale_only_the_loss_entries() -> None:
    class TwoTerms(BaseWeightedLoss):
        def _forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"loss_a": x, "acc": x}

    out = TwoTerms(loss_weight=2.0)(torch.tensor(3.0))
    assert out["loss_a"].item() == 6.0 and out["acc"].item() == 3.0
