"""SSN model: pyramid pooling (train and test forms), the reorganised test classifier, the losses
(OHEM hinge with its hand-written gradient) against slow loops written from the reference semantics,
and the built model's train and test forwards."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidact.errors import RecipeError
from vidact.models import build_model
from vidact.models.heads.ssn_head import SSNHead, STPPTest, STPPTrain
from vidact.models.losses.ssn_loss import SSNLoss, ohem_hinge_loss
from vidact.schemas.data import SSNTrainCfgSpec


# ---- slow references -------------------------------------------------------------------------------


def ref_ohem(pred: torch.Tensor, labels: torch.Tensor, is_positive: int, ratio: float, group: int):
    """The reference's loops: loss value and its hand-written gradient."""
    n = pred.shape[0]
    losses, slopes = torch.zeros(n), torch.zeros(n)
    for i in range(n):
        losses[i] = max(0, 1 - is_positive * pred[i, labels[i] - 1])
        slopes[i] = -is_positive if losses[i] != 0 else 0
    losses = losses.view(-1, group)
    sorted_losses, indices = torch.sort(losses, dim=1, descending=True)
    keep = int(group * ratio)
    loss = sum(sorted_losses[i, :keep].sum() for i in range(losses.shape[0]))
    grad = torch.zeros(pred.shape)
    for g in range(losses.shape[0]):
        for idx in indices[g, :keep]:
            loc = int(idx) + g * group
            grad[loc, labels[loc] - 1] = slopes[loc]
    return loss, grad


def ref_stpp_test(x, ticks, scales, num_classes, stage, use_regression=True):
    """STPPTest's per-proposal loops (stpp_stage of plain ints or tuples)."""
    stages = [(s,) if isinstance(s, int) else tuple(s) for s in stage]
    mult = sum(sum(s) for s in stages)
    act_len, comp_len, reg_len = num_classes + 1, num_classes, 2 * num_classes
    raw_act = x[:, :act_len]
    raw_comp = x[:, act_len:act_len + comp_len * mult]
    raw_reg = x[:, act_len + comp_len * mult:]
    n = ticks.shape[0]
    act, comp, reg = torch.zeros(n, act_len), torch.zeros(n, comp_len), torch.zeros(n, reg_len)

    def pool(out, i, raw, t, sf, length):
        offset = 0
        for s_idx, levels in enumerate(stages):
            scale = sf[0] if s_idx == 0 else sf[1] if s_idx == len(stages) - 1 else 1.0
            left = int(t[s_idx])
            right = float(max(int(t[s_idx]) + 1, int(t[s_idx + 1])))
            if right <= 0 or left >= raw.shape[0]:
                offset += sum(levels)
                continue
            for parts in levels:
                pt = torch.arange(left, right + 1e-5, (right - left) / parts).int()
                for p in range(parts):
                    if pt[p + 1] - pt[p] >= 1:
                        out[i] += raw[pt[p]:pt[p + 1], offset * length:(offset + 1) * length].mean(dim=0) * scale
                    offset += 1

    for i in range(n):
        t = ticks[i]
        act[i] = raw_act[int(t[1]):max(int(t[1]) + 1, int(t[2]))].mean(dim=0)
        pool(comp, i, raw_comp, t, scales[i], comp_len)
        if use_regression:
            pool(reg, i, raw_reg, t, scales[i], reg_len)
    return act, comp, reg if use_regression else None


# ---- tests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("is_positive", "ratio"), [(1, 1.0), (-1, 0.17), (-1, 0.5)])
def test_ohem_hinge_loss_value_and_gradient(seed: int, is_positive: int, ratio: float) -> None:
    g = torch.Generator().manual_seed(seed)
    group, num_groups, num_classes = 6, 3, 4
    pred = (torch.randn(group * num_groups, num_classes, generator=g) * 1.5).requires_grad_()
    labels = torch.randint(1, num_classes + 1, (group * num_groups,), generator=g)
    loss = ohem_hinge_loss(pred, labels, is_positive, ratio, group)
    loss.backward()
    expected, grad = ref_ohem(pred.detach(), labels, is_positive, ratio, group)
    torch.testing.assert_close(loss, torch.as_tensor(expected).reshape(1).float())
    torch.testing.assert_close(pred.grad, grad)


def test_ssn_loss_terms() -> None:
    torch.manual_seed(0)
    cfg = SSNTrainCfgSpec()  # 8 per video: 1 positive, 6 incomplete, 1 background
    num_classes, videos = 3, 2
    types = torch.tensor([[0, 1, 1, 1, 1, 1, 1, 2]] * videos)
    labels = torch.tensor([[2, 1, 3, 2, 2, 1, 3, 0], [1, 3, 3, 2, 1, 1, 2, 0]])
    act, comp = torch.randn(16, num_classes + 1), torch.randn(16, num_classes)
    bbox, targets = torch.randn(16, num_classes, 2), torch.randn(videos, 8, 2)
    losses = SSNLoss()(act, comp, bbox, types, labels, targets, cfg)
    flat_t, flat_l = types.reshape(-1), labels.reshape(-1)
    act_rows = [i for i in range(16) if flat_t[i] in (0, 2)]
    assert losses["loss_activity"] == pytest.approx(float(F.cross_entropy(act[act_rows], flat_l[act_rows])), abs=1e-6)
    pos = [i for i in range(16) if flat_t[i] == 0]
    reg = torch.stack([bbox[i, flat_l[i] - 1] for i in pos])
    expected_reg = F.smooth_l1_loss(reg.reshape(-1), targets.reshape(-1, 2)[pos].reshape(-1)) * 2 * 0.1
    assert losses["loss_reg"] == pytest.approx(float(expected_reg), abs=1e-6)
    # completeness: positives all kept, int(6 * 1/6) = 1 hardest incomplete per video; / (2 + 2), x 0.1
    hinge_pos = sum(max(0.0, 1 - float(comp[i, flat_l[i] - 1])) for i in pos)
    hinge_inc = sum(max(max(0.0, 1 + float(comp[i, flat_l[i] - 1])) for i in range(v * 8 + 1, v * 8 + 7))
                    for v in range(videos))
    assert losses["loss_completeness"] == pytest.approx((hinge_pos + hinge_inc) / 4 * 0.1, abs=1e-6)


@pytest.mark.parametrize("stage", [(1, 1, 1), (1, (1, 2), 1), (2, (1, 3), 1)])
@pytest.mark.parametrize("seed", range(3))
def test_stpp_test_matches_reference_loops(stage: tuple, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    num_classes, num_frames, num_props = 3, 23, 12
    pool = STPPTest(num_classes, True, stage)
    x = torch.randn(num_frames, pool.feat_dim, generator=g, dtype=torch.float64)
    starts = torch.randint(0, num_frames + 2, (num_props,), generator=g)
    lengths = torch.randint(0, 12, (num_props, 3), generator=g)
    ticks = torch.stack([starts, starts + lengths[:, 0], starts + lengths[:, :2].sum(1), starts + lengths.sum(1)], 1)
    ticks[0] = torch.tensor([0, 0, 0, 0])  # a zero-length proposal at the start
    ticks[1] = torch.tensor([num_frames, num_frames, num_frames + 1, num_frames + 2])  # past the last frame
    scales = torch.rand(num_props, 2, generator=g, dtype=torch.float64)
    ours = pool(x, ticks.int(), scales)
    theirs = ref_stpp_test(x, ticks, scales, num_classes, stage)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b.to(a.dtype), equal_nan=True)


def test_test_form_equals_train_form_on_matching_features() -> None:
    """With one segment per stage and unit scale factors, pooling the frame scores of the reorganised
    classifier equals classifying the pooled features: the point of `test_fc`."""
    torch.manual_seed(0)
    dim, num_classes = 6, 3
    head = SSNHead(dropout_ratio=0.0, in_channels=dim, num_classes=num_classes,
                   consensus=STPPTrain((1, 1, 1), (1, 1, 1)), init_std=0.3)
    torch.nn.init.normal_(head.completeness_fc.bias)
    torch.nn.init.normal_(head.regressor_fc.bias)
    frames = torch.randn(30, dim, dtype=torch.float64)
    head = head.double().eval()
    ticks = torch.tensor([[2, 5, 12, 15], [0, 4, 20, 29], [10, 11, 13, 14]])
    segments = torch.stack([torch.stack([frames[t[0]:t[1]].mean(0), frames[t[1]:t[2]].mean(0),
                                         frames[t[2]:t[3]].mean(0)]) for t in ticks])
    ones = torch.ones(3, 2, dtype=torch.float64)
    act_train, comp_train, reg_train = head(segments.reshape(-1, dim), ones)
    _, act_test, comp_test, reg_test = head.forward_test(frames, ticks, ones)
    torch.testing.assert_close(act_test, act_train)
    torch.testing.assert_close(comp_test, comp_train)
    torch.testing.assert_close(reg_test, reg_train.reshape(3, -1))


def test_stpp_train_pools_stages_with_scale_factors() -> None:
    pool = STPPTrain((1, (1, 2), 1), (2, 4, 2))
    x = torch.arange(2 * 8 * 1, dtype=torch.float64).reshape(16, 1)  # 2 proposals, 8 segments, 1 channel
    scales = torch.tensor([[0.5, 2.0], [1.0, 1.0]], dtype=torch.float64)
    course, stpp = pool(x, scales)
    assert pool.num_multipliers == 5
    torch.testing.assert_close(course[:, 0], torch.tensor([3.5, 11.5], dtype=torch.float64))
    # proposal 0: start mean(0, 1) * 0.5, course mean(2..5) / 3, halves (2, 3) / 3 and (4, 5) / 3, end mean(6, 7) * 2
    expected0 = [0.25, 3.5 / 3, 2.5 / 3, 4.5 / 3, 13.0]
    torch.testing.assert_close(stpp[0], torch.tensor(expected0, dtype=torch.float64))


def _toy_spec(regression: bool = True) -> dict:
    return {"type": "SSN", "backbone": {"type": "ResNet", "depth": 18, "pretrained": None},
            "spatial_type": "avg", "dropout_ratio": 0.5,
            "cls_head": {"type": "SSNHead", "dropout_ratio": 0.0, "in_channels": 512, "num_classes": 3,
                         "consensus": {"type": "STPPTrain", "stpp_stage": [1, 1, 1], "num_segments_list": [2, 5, 2]},
                         "use_regression": regression},
            "train_cfg": {"ssn": {"sampler": {"num_per_video": 8}}},
            "test_cfg": {"ssn": {"sampler": {"batch_size": 4}}}}


def test_built_model_trains_and_tests() -> None:
    torch.manual_seed(0)
    model = build_model(_toy_spec())
    assert {"cls_head.activity_fc.weight", "cls_head.completeness_fc.weight",
            "cls_head.regressor_fc.weight"} <= set(model.state_dict())
    imgs = torch.randn(1, 8, 9, 3, 32, 32)
    losses = model(imgs, None, return_loss=True, proposal_scale_factor=torch.ones(1, 8, 2),
                   proposal_type=torch.tensor([[0, 1, 1, 1, 1, 1, 1, 2]]),
                   proposal_labels=torch.tensor([[1, 2, 3, 1, 2, 3, 1, 0]]), reg_targets=torch.randn(1, 8, 2))
    assert set(losses) == {"loss_activity", "loss_completeness", "loss_reg"}
    sum(losses.values()).backward()
    assert model.cls_head.completeness_fc.weight.grad is not None
    model.eval()
    ticks = torch.tensor([[[0, 2, 6, 8], [1, 3, 4, 9]]], dtype=torch.int32)
    (result,) = model(torch.randn(1, 10, 3, 32, 32), return_loss=False,
                      relative_proposal_list=torch.tensor([[[0.2, 0.6], [0.3, 0.4]]]),
                      scale_factor_list=torch.ones(1, 2, 2), proposal_tick_list=ticks,
                      reg_norm_consts=torch.tensor([[[0.1, 0.2], [2.0, 3.0]]], dtype=torch.float64))
    assert result["activity_scores"].shape == (2, 4) and result["completeness_scores"].shape == (2, 3)
    assert result["bbox_preds"].shape == (2, 3, 2)
    assert np.isfinite(result["activity_scores"]).all()
    with pytest.raises(RecipeError, match="proposal_tick_list"):  # e.g. an EvalHook's plain forward
        model(torch.randn(1, 10, 3, 32, 32), return_loss=False)


def test_tsm_backbone_pads_test_frames_to_whole_groups() -> None:
    torch.manual_seed(0)
    spec = _toy_spec()
    spec["backbone"] = {"type": "ResNetTSM", "depth": 18, "pretrained": None, "num_stages": 3, "out_indices": [2],
                        "strides": [1, 2, 2], "dilations": [1, 1, 1], "num_segments": 9}
    spec["cls_head"]["in_channels"] = 256
    model = build_model(spec).eval()
    ticks = torch.tensor([[[0, 2, 6, 8], [1, 3, 4, 9]]], dtype=torch.int32)
    kwargs = dict(relative_proposal_list=torch.tensor([[[0.2, 0.6], [0.3, 0.4]]]),
                  scale_factor_list=torch.ones(1, 2, 2), proposal_tick_list=ticks,
                  reg_norm_consts=torch.tensor([[[0.0, 0.0], [1.0, 1.0]]]))
    imgs = torch.randn(1, 10, 3, 32, 32)  # 10 frames: groups of 9, the last padded; chunks of 4 frames
    (result,) = model(imgs, return_loss=False, **kwargs)
    assert result["activity_scores"].shape == (2, 4) and np.isfinite(result["completeness_scores"]).all()
    model.test_cfg = model.test_cfg.model_copy(update={"ssn": model.test_cfg.ssn.model_copy(
        update={"sampler": model.test_cfg.ssn.sampler.model_copy(update={"batch_size": 18})})})
    (whole,) = model(imgs, return_loss=False, **kwargs)  # one chunk: frames 0-8, then 9 and 8 copies of it
    assert whole["activity_scores"].shape == (2, 4) and np.isfinite(whole["activity_scores"]).all()
