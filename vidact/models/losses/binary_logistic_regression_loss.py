"""Binary logistic regression with positive-ratio weighting (BSN's TEM loss, BMN's boundary loss)."""

from __future__ import annotations

import torch
from torch import nn

from vidact.models.registry import LOSSES


def _balance_coefficients(
    num_entries: torch.Tensor, num_positive: torch.Tensor, ratio_range: tuple[float, float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights `(coef_0, coef_1)` of negatives and positives from the clipped entries/positives ratio.

    With `ratio = entries / positives`, positives get `ratio / 2` and negatives `ratio / (2 (ratio - 1))`,
    so each class contributes half of the loss whatever the class balance (within `ratio_range`).
    """
    ratio = (num_entries / num_positive).clamp(ratio_range[0], ratio_range[1])
    return 0.5 * ratio / (ratio - 1), 0.5 * ratio


def binary_logistic_regression_loss(
    reg_score: torch.Tensor,
    label: torch.Tensor,
    threshold: float = 0.5,
    ratio_range: tuple[float, float] = (1.05, 21),
    eps: float = 1e-5,
) -> torch.Tensor:
    """Class-balanced binary log loss of probabilities against soft labels.

    Args:
        reg_score: predicted probabilities, any shape (flattened).
        label: targets of the same number of elements; `label > threshold` are positives.
        threshold: positive threshold on `label`.
        ratio_range: clip range of `num_entries / max(num_positive, 1)`.
        eps: added inside the logs.

    Returns:
        A scalar: `-mean(coef_1 * pos * log(p + eps) + coef_0 * (1 - pos) * log(1 - p + eps))`.
    """
    label = label.reshape(-1).to(reg_score.device)
    reg_score = reg_score.reshape(-1)
    pmask = (label > threshold).to(reg_score.dtype)
    num_positive = pmask.sum().clamp(min=1)
    num_entries = torch.tensor(float(label.numel()), dtype=reg_score.dtype, device=reg_score.device)
    coef_0, coef_1 = _balance_coefficients(num_entries, num_positive, ratio_range)
    loss = coef_1 * pmask * torch.log(reg_score + eps) + coef_0 * (1.0 - pmask) * torch.log(1.0 - reg_score + eps)
    return -loss.mean()


@LOSSES.register()
class BinaryLogisticRegressionLoss(nn.Module):
    """Module form of `binary_logistic_regression_loss` (no parameters, as the reference)."""

    def __init__(self) -> None:
        super().__init__()

    def forward(
        self,
        reg_score: torch.Tensor,
        label: torch.Tensor,
        threshold: float = 0.5,
        ratio_range: tuple[float, float] = (1.05, 21),
        eps: float = 1e-5,
    ) -> torch.Tensor:
        """The balanced loss of `reg_score` against `label` (see the function)."""
        return binary_logistic_regression_loss(reg_score, label, threshold, ratio_range, eps)
