"""The detector's network alone (no post-processing), as a module taking only images."""
from __future__ import annotations

from torch import Tensor, nn


class TensorForward(nn.Module):
    """``images (B, 3, H, W)`` -> the head's raw ``(cls_scores, bbox_preds)``.

    ``cls_scores`` is a list over levels of ``(B, A_l * (C + 1), H_l, W_l)`` and
    ``bbox_preds`` of ``(B, A_l * 4, H_l, W_l)``, as ``model(..., mode='tensor')``.
    Tracing tools (FLOP counting, export) need a forward without image metas.
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, img: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        return self.detector.forward_dense(img)
