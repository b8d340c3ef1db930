"""The detector's network alone (no post-processing), as a module taking only images."""
from __future__ import annotations

from torch import Tensor, nn


class TensorForward(nn.Module):
    """``images (B, 3, H, W)`` -> the detector's raw outputs (``forward_tensor``, eager).

    For a single-stage detector the head's ``(cls_scores, bbox_preds)``: lists over levels
    of ``(B, A_l * (C + 1), H_l, W_l)`` and ``(B, A_l * 4, H_l, W_l)``; for a two-stage one
    also the RoI head's outputs on 1000 fixed boxes per image (mmdetection's
    ``forward_dummy``). Tracing tools (FLOP counting, export) need a forward without image
    metas.
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, img: Tensor) -> tuple:
        return self.detector.forward_tensor(img)
