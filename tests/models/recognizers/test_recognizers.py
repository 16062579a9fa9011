"""Recognizers: training loss dicts, test-time averaging of clips and crops against hand computation,
chunked testing and feature extraction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidact.models.backbones import ResNet, ResNet3d, ResNetTSM
from vidact.models.common.layers import to_channels_last
from vidact.models.heads import I3DHead, TSMHead, TSNHead
from vidact.models.recognizers import Recognizer2D, Recognizer3D, average_clip


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_average_clip_score_prob_and_none_by_hand() -> None:
    scores = np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 1.0], [0.0, 0.0, 5.0], [2.0, 2.0, 2.0]], dtype=np.float32)
    t = torch.from_numpy(scores)
    torch.testing.assert_close(
        average_clip(t, 2, "score"), torch.from_numpy(np.stack([scores[:2].mean(0), scores[2:].mean(0)]))
    )
    probs = _softmax(scores)
    torch.testing.assert_close(
        average_clip(t, 2, "prob"), torch.from_numpy(np.stack([probs[:2].mean(0), probs[2:].mean(0)]))
    )
    assert average_clip(t, 2, None) is t
    with pytest.raises(ValueError, match="average_clips"):
        average_clip(t, 2, "max")


def _tsn(average_clips: str | None) -> Recognizer2D:
    head = TSNHead(num_classes=5, in_channels=512, dropout_ratio=0.0)
    return Recognizer2D(
        backbone=ResNet(depth=18), cls_head=head, test_cfg={"average_clips": average_clips}
    ).eval()


def test_recognizer2d_training_returns_named_losses_that_backpropagate() -> None:
    model = _tsn("score").train()
    imgs = torch.randn(2, 3, 3, 32, 32)  # (N, num_segs, C, H, W)
    out = model(imgs, torch.tensor([[1], [4]]))
    assert set(out) == {"loss_cls", "top1_acc", "top5_acc"}
    sum(v for k, v in out.items() if "loss" in k).backward()
    assert model.backbone.conv1.weight.grad is not None
    with pytest.raises(ValueError, match="needs labels"):
        model(imgs)


@pytest.mark.parametrize("average_clips", ["score", "prob"])
def test_recognizer2d_tsn_fuses_all_views_in_the_head(average_clips: str) -> None:
    model = _tsn(average_clips)
    imgs = torch.randn(2, 3 * 2, 3, 32, 32)  # 3 crops x 2 segments per video
    with torch.no_grad():
        out = model(imgs, return_loss=False)
        feats = model.backbone(imgs.reshape(-1, 3, 32, 32)).mean(dim=(2, 3)).reshape(2, 6, -1).mean(dim=1)
        scores = model.cls_head.fc_cls(feats)
    expected = scores if average_clips == "score" else scores.softmax(dim=1)  # one row per video
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("average_clips", ["score", "prob", None])
def test_recognizer2d_tsm_averages_crops_by_hand(average_clips: str | None) -> None:
    head = TSMHead(num_classes=5, in_channels=512, num_segments=2, dropout_ratio=0.0)
    model = Recognizer2D(
        backbone=ResNetTSM(depth=18, num_segments=2), cls_head=head, test_cfg={"average_clips": average_clips}
    ).eval()
    imgs = torch.randn(2, 3 * 2, 3, 32, 32)  # 3 crops x 2 segments per video
    with torch.no_grad():
        out = model(imgs, return_loss=False)
        per_crop = np.stack(
            [
                model.cls_head(model.backbone(imgs[v, 2 * c : 2 * c + 2]), 2)[0].numpy()
                for v in range(2)
                for c in range(3)
            ]
        ).reshape(2, 3, 5)
    if average_clips is None:
        expected = per_crop.reshape(6, 5)
    elif average_clips == "score":
        expected = per_crop.mean(axis=1)
    else:
        expected = _softmax(per_crop).mean(axis=1)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def _i3d(**test_cfg: object) -> Recognizer3D:
    backbone = ResNet3d(depth=18, pretrained=None, base_channels=8, conv1_stride_t=1, pool1_stride_t=1)
    head = I3DHead(num_classes=4, in_channels=64, dropout_ratio=0.0)
    return Recognizer3D(backbone=backbone, cls_head=head, test_cfg=test_cfg).eval()


@pytest.mark.parametrize("average_clips", ["score", "prob"])
def test_recognizer3d_averages_clips_by_hand(average_clips: str) -> None:
    model = _i3d(average_clips=average_clips)
    imgs = torch.randn(2, 3, 3, 4, 32, 32)  # (N, num_clips, C, T, H, W)
    with torch.no_grad():
        out = model(imgs, return_loss=False)
        per_clip = np.stack(
            [
                [model.cls_head(model.backbone(imgs[v, c : c + 1]))[0].numpy() for c in range(3)]
                for v in range(2)
            ]
        )
    expected = per_clip.mean(axis=1) if average_clips == "score" else _softmax(per_clip).mean(axis=1)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_recognizer3d_chunked_views_and_features() -> None:
    imgs = torch.randn(1, 5, 3, 4, 32, 32)
    whole, chunked = _i3d(average_clips="prob"), _i3d(average_clips="prob", max_testing_views=2)
    chunked.load_state_dict(whole.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(chunked(imgs, return_loss=False), whole(imgs, return_loss=False))
        feats = _i3d(feature_extraction=True)(imgs, return_loss=False)
    assert feats.shape == (1, 64)


def test_recognizer3d_training_loss_dict() -> None:
    model = _i3d(average_clips="score").train()
    out = model(torch.randn(2, 1, 3, 4, 32, 32), torch.tensor([[0], [3]]))
    assert set(out) == {"loss_cls", "top1_acc", "top5_acc"}
    out["loss_cls"].backward()


def test_unknown_cfg_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown key"):
        Recognizer3D(
            backbone=torch.nn.Identity(),
            cls_head=I3DHead(num_classes=2, in_channels=2),
            test_cfg={"average_clip": "score"},
        )


def _channels_last_pair(kind: str, device: str) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """A recognizer in channels-last memory format, a contiguous input and the same input whose
    frames (2D) or clips (3D) are channels-last, as a channels-last training loop feeds them."""
    if kind == "2d":
        head = TSMHead(num_classes=5, in_channels=512, num_segments=4, dropout_ratio=0.0)
        model = Recognizer2D(
            backbone=ResNetTSM(depth=18, num_segments=4, non_local=(0, 1, 0, 0)),
            cls_head=head,
            test_cfg={"average_clips": "prob"},
        )
        frames = torch.randn(2 * 4, 3, 32, 32, device=device)
        fmt = torch.channels_last
        imgs = frames.reshape(2, 4, 3, 32, 32)
        imgs_cl = frames.to(memory_format=fmt).reshape(2, 4, 3, 32, 32)
    else:
        model = _i3d(average_clips="prob")
        clips = torch.randn(2 * 2, 3, 4, 32, 32, device=device)
        fmt = torch.channels_last_3d
        imgs = clips.reshape(2, 2, 3, 4, 32, 32)
        imgs_cl = clips.to(memory_format=fmt).reshape(2, 2, 3, 4, 32, 32)
    assert not imgs_cl.is_contiguous()
    return to_channels_last(model.to(device)), imgs, imgs_cl


def _check_channels_last(kind: str, device: str, tol: float) -> None:
    model, imgs, imgs_cl = _channels_last_pair(kind, device)
    labels = torch.tensor([1, 3, 0, 2][: 2 if kind == "2d" else 4], device=device)  # per video / per clip
    model.train()
    losses = [model(x, labels)["loss_cls"] for x in (imgs, imgs_cl)]
    losses[1].backward()
    torch.testing.assert_close(losses[0], losses[1], rtol=tol, atol=tol)
    model.eval()
    with torch.no_grad():
        scores = [model(x, return_loss=False) for x in (imgs, imgs_cl)]
    torch.testing.assert_close(scores[0], scores[1], rtol=tol, atol=tol)


@pytest.mark.parametrize("kind", ["2d", "3d"])
def test_channels_last_inputs_work_on_cpu(kind: str) -> None:
    _check_channels_last(kind, "cpu", 1e-4)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("kind", ["2d", "3d"])
def test_channels_last_inputs_work_on_cuda(kind: str) -> None:
    _check_channels_last(kind, "cuda", 1e-2)  # cuDNN may pick TF32 kernels for one format only
