"""Classification losses. Importing this package registers them in `LOSSES`.

The localization losses (BinaryLogisticRegressionLoss, BMNLoss, SSNLoss) arrive with the localizers.
"""

from vidact.models.losses.base import BaseWeightedLoss
from vidact.models.losses.cross_entropy_loss import BCELossWithLogits, CrossEntropyLoss
from vidact.models.losses.nll_loss import NLLLoss
from vidact.models.losses.ssn_loss import OHEMHingeLoss, SSNLoss

__all__ = ["BCELossWithLogits", "BaseWeightedLoss", "CrossEntropyLoss", "NLLLoss", "OHEMHingeLoss", "SSNLoss"]
