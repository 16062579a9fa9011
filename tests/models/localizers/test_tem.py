"""TEM: labels against the reference's per-anchor loop, layer names and shapes, loss and test output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidact.errors import InputError
from vidact.models.localizers.tem import TEM, temporal_anchors


def _reference_bce(score, label, threshold=0.5, ratio_range=(1.05, 21), eps=1e-5):
    """BSN's binary logistic regression loss, written out from its definition."""
    label, score = label.reshape(-1), score.reshape(-1)
    pmask = (label > threshold).float()
    num_positive = max(float(pmask.sum()), 1.0)
    ratio = min(max(len(label) / num_positive, ratio_range[0]), ratio_range[1])
    coef_0, coef_1 = 0.5 * ratio / (ratio - 1), 0.5 * ratio
    loss = coef_1 * pmask * torch.log(score + eps) + coef_0 * (1.0 - pmask) * torch.log(1.0 - score + eps)
    return -loss.mean()


class _Loss(torch.nn.Module):
    def forward(self, score, label, threshold=0.5):
        return _reference_bce(score, label, threshold)


def _tem(temporal_dim=20, feat_dim=6, hidden=8):
    return TEM(temporal_dim=temporal_dim, boundary_ratio=0.1, tem_feat_dim=feat_dim, tem_hidden_dim=hidden,
               tem_match_threshold=0.5, loss_cls=_Loss())


def _iop(a_min, a_max, g_min, g_max):
    inter = max(min(a_max, g_max) - max(a_min, g_min), 0.0)
    return inter / (a_max - a_min)


def _loop_labels(boxes, temporal_dim, boundary_ratio):
    """The reference's definition, one anchor and one segment at a time."""
    gap = 1.0 / temporal_dim
    action, start, end = [], [], []
    for i in range(temporal_dim):
        a_min, a_max = gap * (i + 0.0), gap * (i + 1.0)
        act, sta, en = [], [], []
        for g_min, g_max in boxes:
            pad = max(1.0 / temporal_dim, boundary_ratio * (g_max - g_min))
            act.append(_iop(a_min, a_max, g_min, g_max))
            sta.append(_iop(a_min, a_max, g_min - pad / 2, g_min + pad / 2))
            en.append(_iop(a_min, a_max, g_max - pad / 2, g_max + pad / 2))
        action.append(max(act)), start.append(max(sta)), end.append(max(en))
    return np.array(action), np.array(start), np.array(end)


def test_anchors_are_the_reference_cells():
    tmins, tmaxs = temporal_anchors(7)
    gap = 1.0 / 7
    assert tmins.tolist() == [gap * (i + 0.0) for i in range(7)]
    assert tmaxs.tolist() == [gap * (i + 1.0) for i in range(7)]


def test_labels_match_the_per_anchor_loop():
    rng = np.random.default_rng(0)
    tem = _tem(temporal_dim=50)
    videos = []
    for num in (1, 3, 5):
        starts = rng.uniform(0, 0.8, num)
        videos.append(np.stack([starts, np.minimum(starts + rng.uniform(0.01, 0.5, num), 1.0)], axis=1))
    videos.append(np.array([[0.0, 1.0]]))  # a segment covering the whole video: boundaries at both ends
    action, start, end = tem.generate_labels([torch.from_numpy(v) for v in videos])
    assert action.shape == start.shape == end.shape == (4, 50) and action.dtype == torch.float32
    for i, boxes in enumerate(videos):
        expected = _loop_labels(boxes, 50, 0.1)
        for got, want in zip((action, start, end), expected):
            np.testing.assert_allclose(got[i].numpy(), want.astype(np.float32), rtol=0, atol=1e-7)


def test_layer_names_and_shapes_are_the_references():
    shapes = {k: tuple(v.shape) for k, v in _tem(temporal_dim=20, feat_dim=6, hidden=8).state_dict().items()}
    assert shapes == {"conv1.weight": (8, 6, 3), "conv1.bias": (8,), "conv2.weight": (8, 8, 3),
                      "conv2.bias": (8,), "conv3.weight": (3, 8, 1), "conv3.bias": (3,)}


def test_training_losses_follow_the_definition():
    torch.manual_seed(0)
    tem = _tem()
    feature = torch.randn(2, 6, 20)
    boxes = [torch.tensor([[0.2, 0.5]]), torch.tensor([[0.1, 0.3], [0.6, 0.9]])]
    losses = tem(feature, boxes, return_loss=True)
    assert set(losses) == {"loss_action", "loss_start", "loss_end"}
    out = tem._forward(feature)
    labels = tem.generate_labels(boxes)
    assert torch.allclose(losses["loss_action"], 2 * _reference_bce(out[:, 0], labels[0]))
    assert torch.allclose(losses["loss_end"], _reference_bce(out[:, 2], labels[2]))
    sum(losses.values()).backward()
    assert tem.conv1.weight.grad is not None


def test_test_output_is_one_reference_csv_table_per_video():
    tem = _tem()
    results = tem(torch.randn(2, 6, 20), video_meta=[{"video_name": "v_a"}, {"video_name": "v_b"}],
                  return_loss=False)
    assert [name for name, _ in results] == ["v_a", "v_b"]
    table = results[1][1]
    assert table.shape == (20, 5)
    assert ((table[:, :3] > 0) & (table[:, :3] < 1)).all()
    np.testing.assert_array_equal(table[:, 3:], np.stack(temporal_anchors(20), axis=1))


def test_training_without_boxes_fails_clearly():
    with pytest.raises(ValueError, match="gt_bbox"):
        _tem()(torch.randn(1, 6, 20), return_loss=True)


def test_features_of_another_size_name_the_videos():
    with pytest.raises(InputError, match=r"v_x: 20 rows x 5 columns, the TEM expects temporal_dim 20 rows x tem_feat_dim 6"):
        _tem()(torch.randn(1, 5, 20), [torch.tensor([[0.1, 0.2]])], video_meta=[{"video_name": "v_x"}])
