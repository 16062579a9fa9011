"""Public post-processing API for temporal localization, under MMAction's names and conventions.

BSN's proposal generation (PGM) and proposal features (BSP), temporal IoU/IoP, Gaussian soft-NMS
(BSN/BMN), hard temporal NMS and the SSN evaluation helpers; arrays in, arrays out, vectorised over
proposals.
"""

from vidact.localization.bsn import generate_bsp_feature, generate_candidate_proposals
from vidact.localization.iou import temporal_iop, temporal_iou
from vidact.localization.nms import soft_nms, temporal_nms
from vidact.localization.post_processing import post_processing
from vidact.localization.ssn import eval_ap, load_localize_proposal_file, perform_regression

__all__ = [
    "eval_ap",
    "generate_bsp_feature",
    "generate_candidate_proposals",
    "load_localize_proposal_file",
    "perform_regression",
    "post_processing",
    "soft_nms",
    "temporal_iop",
    "temporal_iou",
    "temporal_nms",
]
