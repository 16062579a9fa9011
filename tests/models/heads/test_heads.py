"""Heads: consensus and scores against hand computation; the loss dict, accuracies, label smoothing."""

from __future__ import annotations

import logging
import math

import pytest
import torch
import torch.nn.functional as F

from vidact.models.heads import AvgConsensus, I3DHead, SlowFastHead, TSMHead, TSNHead, top_k_accuracy
from vidact.models.losses import BCELossWithLogits, CrossEntropyLoss


def _linear(head: torch.nn.Module, feat: torch.Tensor) -> torch.Tensor:
    return feat @ head.fc_cls.weight.T + head.fc_cls.bias


def test_avg_consensus_keeps_the_segment_axis() -> None:
    x = torch.tensor([[[1.0, 2.0], [3.0, 6.0]]])  # (N=1, segs=2, C=2)
    torch.testing.assert_close(AvgConsensus(dim=1)(x), torch.tensor([[[2.0, 4.0]]]))


def test_tsn_head_fuses_segment_features_before_the_classifier() -> None:
    head = TSNHead(num_classes=4, in_channels=6, dropout_ratio=0.0).eval()
    x = torch.randn(2 * 3, 6, 5, 5)
    expected = _linear(head, x.mean(dim=(2, 3)).reshape(2, 3, 6).mean(dim=1))
    torch.testing.assert_close(head(x, 3), expected)


def test_tsn_head_without_consensus_scores_every_segment() -> None:
    head = TSNHead(num_classes=4, in_channels=6, consensus=None, dropout_ratio=0.0)
    x = torch.randn(2 * 3, 6, 5, 5)
    torch.testing.assert_close(head(x, 3), _linear(head, x.mean(dim=(2, 3))))


def test_tsm_head_averages_frame_scores_per_clip_of_its_own_length() -> None:
    head = TSMHead(num_classes=4, in_channels=6, num_segments=4, dropout_ratio=0.0)
    x = torch.randn(2 * 3 * 4, 6, 2, 2)  # 2 videos x 3 crops x 4 segments
    frame_scores = _linear(head, x.mean(dim=(2, 3)))
    torch.testing.assert_close(head(x, 12), frame_scores.reshape(6, 4, 4).mean(dim=1))

    pooled = TSMHead(num_classes=4, in_channels=6, num_segments=4, temporal_pool=True)
    assert pooled(torch.randn(2 * 2, 6, 2, 2), 4).shape == (2, 4)


def test_i3d_head_pools_space_and_time() -> None:
    head = I3DHead(num_classes=3, in_channels=8, dropout_ratio=0.0)
    x = torch.randn(2, 8, 4, 3, 3)
    torch.testing.assert_close(head(x), _linear(head, x.mean(dim=(2, 3, 4))))


def test_slowfast_head_concatenates_fast_then_slow() -> None:
    head = SlowFastHead(num_classes=3, in_channels=8 + 2, dropout_ratio=0.0)
    x_slow, x_fast = torch.randn(2, 8, 2, 3, 3), torch.randn(2, 2, 8, 3, 3)
    feat = torch.cat([x_fast.mean(dim=(2, 3, 4)), x_slow.mean(dim=(2, 3, 4))], dim=1)
    torch.testing.assert_close(head((x_slow, x_fast)), _linear(head, feat))


def test_classifier_init_and_dropout() -> None:
    head = TSNHead(num_classes=400, in_channels=2048, init_std=0.01)
    assert abs(head.fc_cls.weight.detach().std().item() - 0.01) < 1e-3 and not head.fc_cls.bias.any()
    assert head.dropout.p == 0.4
    assert TSNHead(num_classes=4, in_channels=6, dropout_ratio=0.0).dropout is None


def test_loss_dict_matches_hand_computation() -> None:
    head = I3DHead(num_classes=6, in_channels=4)
    scores = torch.tensor([[5.0, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5], [1, 0, 0, 0, 0, 0.5]])
    labels = torch.tensor([0, 3, 5])
    out = head.loss(scores, labels)
    # row 0: top-1 hit; row 1: label 3 ranks 3rd, row 2: label 5 ranks 2nd (top-5 hits only)
    assert out["top1_acc"].item() == pytest.approx(1 / 3)
    assert out["top5_acc"].item() == pytest.approx(1.0)
    log_probs = [scores[i].log_softmax(0)[labels[i]].item() for i in range(3)]
    assert out["loss_cls"].item() == pytest.approx(-sum(log_probs) / 3, rel=1e-6)


def test_top_k_accuracy_caps_k_at_the_class_count() -> None:
    scores = torch.tensor([[0.1, 0.9], [0.8, 0.2]])
    top1, top5 = top_k_accuracy(scores, torch.tensor([0, 0]), (1, 5))
    assert top1.item() == 0.5 and top5.item() == 1.0


def test_scalar_label_of_a_batch_of_one() -> None:
    head = I3DHead(num_classes=3, in_channels=4)
    out = head.loss(torch.tensor([[0.0, 2.0, 1.0]]), torch.tensor(1))
    assert out["top1_acc"].item() == 1.0


def test_multi_class_uses_bce_with_smoothed_targets_and_no_accuracy() -> None:
    eps, num_classes = 0.2, 4
    head = TSNHead(
        num_classes=num_classes,
        in_channels=4,
        multi_class=True,
        label_smooth_eps=eps,
        loss_cls=BCELossWithLogits(),
    )
    scores = torch.tensor([[2.0, -1.0, 0.5, 0.0], [-3.0, 1.0, 1.0, 4.0]])
    labels = torch.tensor([[1.0, 0, 1, 0], [0, 0, 0, 1]])
    out = head.loss(scores, labels)
    assert set(out) == {"loss_cls"}
    smoothed = (1 - eps) * labels + eps / num_classes
    by_hand = 0.0
    for x, y in zip(scores.flatten().tolist(), smoothed.flatten().tolist()):
        p = 1 / (1 + math.exp(-x))
        by_hand -= y * math.log(p) + (1 - y) * math.log(1 - p)
    assert out["loss_cls"].item() == pytest.approx(by_hand / scores.numel(), rel=1e-6)


def test_label_smoothing_without_multi_class_warns_and_does_nothing(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="vidact"):
        head = I3DHead(num_classes=3, in_channels=4, label_smooth_eps=0.1)
    assert "no effect without multi_class" in caplog.text
    scores, labels = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    torch.testing.assert_close(head.loss(scores, labels)["loss_cls"], F.cross_entropy(scores, labels))


def test_soft_labels_skip_accuracy_and_use_soft_cross_entropy() -> None:
    head = I3DHead(num_classes=3, in_channels=4, loss_cls=CrossEntropyLoss(loss_weight=2.0))
    scores = torch.tensor([[1.0, 2.0, 3.0]])
    soft = torch.tensor([0.2, 0.3, 0.5])  # a squeezed batch of one
    out = head.loss(scores, soft)
    expected = -(soft * scores[0].log_softmax(0)).sum() * 2.0
    assert set(out) == {"loss_cls"}
    torch.testing.assert_close(out["loss_cls"], expected)
