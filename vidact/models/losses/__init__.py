"""Classification and localization losses. Importing this package registers them in `LOSSES`."""

from vidact.models.losses.base import BaseWeightedLoss
from vidact.models.losses.binary_logistic_regression_loss import (
    BinaryLogisticRegressionLoss,
    binary_logistic_regression_loss,
)
from vidact.models.losses.bmn_loss import BMNLoss
from vidact.models.losses.cross_entropy_loss import BCELossWithLogits, CrossEntropyLoss
from vidact.models.losses.nll_loss import NLLLoss

__all__ = [
    "BCELossWithLogits",
    "BMNLoss",
    "BaseWeightedLoss",
    "BinaryLogisticRegressionLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "binary_logistic_regression_loss",
]
