"""PEM: layer names, the balanced regression loss and score fusion against written-out definitions."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vidact.models.localizers.pem import PEM, balanced_iou_weights


def _pem(u_ratio_m=1.0, u_ratio_l=2.0):
    return PEM(pem_feat_dim=32, pem_hidden_dim=16, pem_u_ratio_m=u_ratio_m, pem_u_ratio_l=u_ratio_l,
               pem_high_temporal_iou_threshold=0.6, pem_low_temporal_iou_threshold=0.2, soft_nms_alpha=0.75,
               soft_nms_low_threshold=0.65, soft_nms_high_threshold=0.9, post_process_top_k=100)


def test_layer_names_and_shapes_are_the_references():
    shapes = {k: tuple(v.shape) for k, v in _pem().state_dict().items()}
    assert shapes == {"fc1.weight": (16, 32), "fc1.bias": (16,), "fc2.weight": (1, 16), "fc2.bias": (1,)}


def test_balanced_weights_keep_every_high_and_the_asked_share_of_the_rest():
    torch.manual_seed(0)
    iou = torch.cat([torch.full((100,), 0.8), torch.full((1000,), 0.4), torch.full((4000,), 0.1)])
    weights = balanced_iou_weights(iou, 0.6, 0.2, u_ratio_m=1.0, u_ratio_l=2.0)
    assert set(weights.unique().tolist()) <= {0.0, 1.0}
    assert weights[:100].sum() == 100
    assert 60 < weights[100:1100].sum() < 140  # about u_ratio_m * 100 of the medium ones
    assert 150 < weights[1100:].sum() < 250  # about u_ratio_l * 100 of the low ones
    only_low = balanced_iou_weights(torch.full((10,), 0.1), 0.6, 0.2, 1.0, 2.0)
    assert only_low.sum() == 0  # no high proposal: no share of the others (and no NaN)


def test_loss_is_the_references_smooth_l1_mean_whatever_the_weights():
    torch.manual_seed(0)
    features = [torch.randn(5, 32), torch.randn(3, 32)]
    iou = [torch.tensor([0.9, 0.5, 0.1, 0.7, 0.3]), torch.tensor([0.05, 0.65, 0.25])]
    pem = _pem()
    predicted = pem._forward(torch.cat(features)).view(-1)
    expected = F.smooth_l1_loss(predicted, torch.cat(iou))
    for ratios in ((1.0, 2.0), (0.0, 0.0), (100.0, 100.0)):
        other = _pem(*ratios)
        other.load_state_dict(pem.state_dict())
        assert torch.allclose(other(features, iou, return_loss=True)["temporal_iou_loss"], expected)
    low_only = [torch.tensor([0.1, 0.05])]  # no high-IoU proposal: no weight drawn (NaN in the reference)
    loss = pem([features[0][:2]], low_only, return_loss=True)["temporal_iou_loss"]
    assert torch.isfinite(loss)


def test_score_fusion_multiplies_confidence_and_boundary_scores():
    pem = _pem()
    feature = torch.randn(4, 32)
    bounds = [np.array([0.1, 0.2, 0.3, 0.0]), np.array([0.4, 0.5, 0.9, 1.0]),
              np.array([0.9, 0.5, 0.2, 1.0]), np.array([0.8, 0.1, 0.7, 0.5])]
    rows = pem.score_proposals(feature, *bounds)
    confidence = pem._forward(feature).view(-1).detach().double().numpy()
    np.testing.assert_allclose(rows[:, 4], confidence, rtol=1e-6)
    np.testing.assert_allclose(rows[:, 5], confidence * bounds[2] * bounds[3], rtol=1e-6)
    np.testing.assert_array_equal(rows[:, :4], np.stack(bounds, axis=1).astype(np.float32))
