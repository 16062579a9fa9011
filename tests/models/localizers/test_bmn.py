"""BMN: the BM sampling mask, labels and candidate proposals against loops written from the reference
definitions; parameter names/shapes against MMAction's BMN; the train/test forward contract."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch

from vidact.localization import temporal_iop, temporal_iou
from vidact.models import build_model
from vidact.models.localizers.bmn import BMN, boundary_matching_mask
from vidact.schemas.model import BMNSpec

SMALL = dict(
    temporal_dim=16, boundary_ratio=0.5, num_samples=4, num_samples_per_bin=3, feat_dim=8, soft_nms_alpha=0.4,
    soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9, post_process_top_k=100,
    hidden_dim_1d=16, hidden_dim_2d=8, hidden_dim_3d=12,
)


def _slow_bin_mask(seg_tmin, seg_tmax, tscale, num_samples, per_bin):
    plen = float(seg_tmax - seg_tmin)
    step = plen / (num_samples * per_bin - 1.0)
    points = [seg_tmin + step * i for i in range(num_samples * per_bin)]
    columns = []
    for b in range(num_samples):
        vector = np.zeros(tscale)
        for point in points[b * per_bin : (b + 1) * per_bin]:
            upper = math.ceil(point)
            frac, down = math.modf(point)
            if 0 <= int(down) <= tscale - 1:
                vector[int(down)] += 1 - frac
            if 0 <= int(upper) <= tscale - 1:
                vector[int(upper)] += frac
        columns.append(vector / per_bin)
    return np.stack(columns, axis=1)  # (T, num_samples)


def _slow_sample_mask(tscale, num_samples, per_bin, ratio):
    out = np.zeros((tscale, num_samples, tscale, tscale))  # (T, N, D, S)
    for s in range(tscale):
        for d in range(tscale):
            if s + d < tscale:
                length = d + 1.0
                out[:, :, d, s] = _slow_bin_mask(s - length * ratio, s + d + length * ratio, tscale, num_samples, per_bin)
    return out.astype(np.float32).reshape(tscale, -1)


@pytest.mark.parametrize(("tscale", "num_samples", "per_bin", "ratio"), [(16, 4, 3, 0.5), (10, 5, 2, 0.25), (7, 3, 1, 0.0)])
def test_sample_mask_matches_the_loop(tscale: int, num_samples: int, per_bin: int, ratio: float) -> None:
    got = boundary_matching_mask(tscale, num_samples, per_bin, ratio)
    assert got.shape == (tscale, num_samples * tscale * tscale) and got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), _slow_sample_mask(tscale, num_samples, per_bin, ratio), atol=1e-6)


def test_bm_layer_is_the_masked_sum_per_proposal() -> None:
    model = BMN(**SMALL)
    x = torch.randn(2, 16, 16)
    out = model._boundary_matching_layer(x)  # (N, C, samples, D, S)
    mask = boundary_matching_mask(16, 4, 3, 0.5).reshape(16, 4, 16, 16)
    d, s = 3, 5
    torch.testing.assert_close(out[:, :, :, d, s], torch.einsum("nct,tk->nck", x, mask[:, :, d, s]))
    assert torch.all(out[:, :, :, 15, 1] == 0)  # ends past the video


def test_fused_sampling_and_conv3d_equal_the_reference_order() -> None:
    torch.manual_seed(0)
    model = BMN(**SMALL).double()
    x = torch.randn(3, 16, 16, dtype=torch.float64, requires_grad=True)
    fused = model._sampled_conv3d(x)
    reference = model.x_3d_p(model._boundary_matching_layer(x)).squeeze(2)
    torch.testing.assert_close(fused, reference)
    grad = torch.randn_like(fused)
    (g_fused,) = torch.autograd.grad(fused, x, grad)
    (g_ref,) = torch.autograd.grad(reference, x, grad)
    torch.testing.assert_close(g_fused, g_ref)


def _slow_labels(gt, tscale):
    gap = 1.0 / tscale
    match = np.array([[[gap * i, gap * i + gap * j] for j in range(1, tscale + 1)] for i in range(tscale)])
    match = np.transpose(match, [1, 0, 2]).reshape(-1, 2)
    iou = np.max([temporal_iou(match[:, 0], match[:, 1], s, e).reshape(tscale, tscale) for s, e in gt], axis=0)
    pad = 3 * gap
    start_boxes = [(s - pad / 2, s + pad / 2) for s, _ in gt]
    end_boxes = [(e - pad / 2, e + pad / 2) for _, e in gt]
    starts, ends = [], []
    for i in range(tscale):
        lo, hi = gap * (i - 0.5), gap * (i + 1.5)  # the reference's anchors: offsets -0.5 and 1.5
        starts.append(max(float(temporal_iop(lo, hi, b0, b1)) for b0, b1 in start_boxes))
        ends.append(max(float(temporal_iop(lo, hi, b0, b1)) for b0, b1 in end_boxes))
    return iou, np.array(starts), np.array(ends)


def test_generate_labels_matches_the_loop() -> None:
    model = BMN(**SMALL)
    rng = np.random.default_rng(0)
    gts = [np.array([[0.1, 0.45], [0.6, 0.98]]), np.sort(rng.uniform(0, 1, (3, 2)), axis=1), np.array([[0.0, 1.0]])]
    iou, start, end = model.generate_labels([torch.from_numpy(g) for g in gts])
    assert iou.shape == (3, 16, 16) and start.shape == end.shape == (3, 16)
    for i, gt in enumerate(gts):
        e_iou, e_start, e_end = _slow_labels(gt, 16)
        np.testing.assert_allclose(iou[i].numpy(), e_iou, atol=1e-6)
        np.testing.assert_allclose(start[i].numpy(), e_start, atol=1e-6)
        np.testing.assert_allclose(end[i].numpy(), e_end, atol=1e-6)


def _slow_proposals(start, end, cmap, tscale):
    start_bins, end_bins = np.zeros(tscale), np.zeros(tscale)
    start_bins[0], end_bins[-1] = 1, 1
    for i in range(1, tscale - 1):
        if start[i] > start[i + 1] and start[i] > start[i - 1]:
            start_bins[i] = 1
        elif start[i] > 0.5 * max(start):
            start_bins[i] = 1
        if end[i] > end[i + 1] and end[i] > end[i - 1]:
            end_bins[i] = 1
        elif end[i] > 0.5 * max(end):
            end_bins[i] = 1
    rows = []
    for d in range(tscale):
        for s in range(tscale):
            e = s + d + 1
            if e < tscale and start_bins[s] == 1 and end_bins[e] == 1:
                c, r = cmap[1, d, s], cmap[0, d, s]
                rows.append([s / tscale, e / tscale, start[s], end[e], c, r, start[s] * end[e] * c * r])
    return np.array(rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generate_proposals_matches_the_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    start, end = rng.uniform(size=16), rng.uniform(size=16)
    start[3:6] = 0.9  # a plateau: no strict peak, but above half the maximum
    end[:4] = 0.1
    cmap = rng.uniform(size=(2, 16, 16))
    got = BMN(**SMALL).generate_proposals(start, end, cmap)
    np.testing.assert_allclose(got, _slow_proposals(start, end, cmap, 16))


# Parameter names and shapes of MMAction 1.2's BMN built with SMALL (its state dict, less its
# frozen 'sample_mask' parameter, which we rebuild instead of storing).
MMACTION_STATE = {
    "bm_mask": (16, 16), "x_1d_b.0.weight": (16, 2, 3), "x_1d_b.0.bias": (16,), "x_1d_b.2.weight": (16, 4, 3),
    "x_1d_b.2.bias": (16,), "x_1d_s.0.weight": (16, 4, 3), "x_1d_s.0.bias": (16,), "x_1d_s.2.weight": (1, 16, 1),
    "x_1d_s.2.bias": (1,), "x_1d_e.0.weight": (16, 4, 3), "x_1d_e.0.bias": (16,), "x_1d_e.2.weight": (1, 16, 1),
    "x_1d_e.2.bias": (1,), "x_1d_p.0.weight": (16, 16, 3), "x_1d_p.0.bias": (16,),
    "x_3d_p.0.weight": (12, 16, 4, 1, 1), "x_3d_p.0.bias": (12,), "x_2d_p.0.weight": (8, 12, 1, 1),
    "x_2d_p.0.bias": (8,), "x_2d_p.2.weight": (8, 8, 3, 3), "x_2d_p.2.bias": (8,), "x_2d_p.4.weight": (8, 8, 3, 3),
    "x_2d_p.4.bias": (8,), "x_2d_p.6.weight": (2, 8, 1, 1), "x_2d_p.6.bias": (2,),
}


def test_state_dict_names_and_shapes_match_mmaction() -> None:
    state = BMN(**SMALL).state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == MMACTION_STATE
    torch.testing.assert_close(state["bm_mask"][:, :3], torch.tensor([[1.0] * 3] * 14 + [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))


def test_built_from_the_spec_and_constructor_matches_it() -> None:
    model = build_model({"type": "BMN", **SMALL})
    assert isinstance(model, BMN) and model.tscale == 16
    params = dict(inspect.signature(BMN.__init__).parameters)
    params.pop("self")
    assert set(params) == set(BMNSpec.model_fields) - {"type"}
    for name, info in BMNSpec.model_fields.items():
        if name not in ("type", "loss_cls") and not info.is_required():
            assert params[name].default == info.default, name


def test_train_forward_returns_named_losses_and_test_forward_proposals() -> None:
    torch.manual_seed(0)
    model = BMN(**SMALL)
    x = torch.randn(2, 8, 16)
    gt = [np.array([[0.1, 0.5]]), np.array([[0.2, 0.3], [0.6, 0.9]])]
    losses = model(x, gt_bbox=gt, return_loss=True)
    assert set(losses) == {"loss", "tem", "pem_reg", "pem_cls"}
    losses["loss"].backward()
    assert model.x_1d_b[0].weight.grad is not None
    meta = [{"video_name": f"v{i}", "duration_frame": 330, "duration_second": 11.0} for i in range(2)]
    out = model(x, video_meta=meta, return_loss=False)
    assert [o["video_name"] for o in out] == ["v0", "v1"]
    for o in out:
        scores = [p["score"] for p in o["proposal_list"]]
        assert 0 < len(scores) <= 100 and scores == sorted(scores, reverse=True)
        assert all(0 <= p["segment"][0] < p["segment"][1] <= 10.67 for p in o["proposal_list"])
