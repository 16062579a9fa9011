"""Classification heads for recognizers. Importing this package registers them in `HEADS`."""

from vidact.models.heads.base import AvgConsensus, BaseHead, top_k_accuracy
from vidact.models.heads.i3d_head import I3DHead
from vidact.models.heads.slowfast_head import SlowFastHead
from vidact.models.heads.ssn_head import SSNHead
from vidact.models.heads.tsm_head import TSMHead
from vidact.models.heads.tsn_head import TSNHead

__all__ = ["AvgConsensus", "BaseHead", "I3DHead", "SlowFastHead", "SSNHead", "TSMHead", "TSNHead", "top_k_accuracy"]
