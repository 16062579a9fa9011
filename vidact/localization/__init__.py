"""Public post-processing API for temporal localization, under MMAction's names and conventions.

Temporal IoU/IoP, Gaussian soft-NMS (BSN/BMN), hard temporal NMS and the SSN detection pipeline;
arrays in, arrays out, vectorised over proposals.
"""

from vidact.localization.detections import regress_and_nms, results_to_detections, thumos14_map
from vidact.localization.iou import temporal_iop, temporal_iou
from vidact.localization.nms import soft_nms, temporal_nms
from vidact.localization.ssn import eval_ap, load_localize_proposal_file, perform_regression

__all__ = [
    "eval_ap",
    "load_localize_proposal_file",
    "perform_regression",
    "regress_and_nms",
    "results_to_detections",
    "soft_nms",
    "temporal_iop",
    "temporal_iou",
    "temporal_nms",
    "thumos14_map",
]
