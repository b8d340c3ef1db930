"""Generalized IoU loss (Rezatofighi et al. 2019; mmdetection 2.x's ``GIoULoss``)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmssd.registry import MODELS
from mmssd.structures.bbox import bbox_overlaps

from .utils import weight_reduce_loss


def giou_loss(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """``1 - GIoU`` of aligned boxes ``pred (..., 4)`` and ``target (..., 4)``; ``(...)``."""
    return 1 - bbox_overlaps(pred, target, mode='giou', is_aligned=True, eps=eps)


@MODELS.register_module()
class GIoULoss(nn.Module):
    """GIoU loss module.

    Args:
        eps: lower bound of the union and the enclosing area.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, eps: float = 1e-6, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.eps = eps
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Tensor | None = None,
                avg_factor: float | Tensor | None = None,
                reduction_override: str | None = None) -> Tensor:
        """Loss of boxes ``pred (n, 4)`` against ``target (n, 4)``; ``weight`` is ``(n,)`` or
        ``(n, 4)`` (averaged over the last dimension). With no positive weight the result
        is ``(pred * weight).sum()``, a zero that keeps the graph (as mmdetection)."""
        reduction = reduction_override or self.reduction
        if weight is not None and not torch.any(weight > 0):
            if pred.dim() == weight.dim() + 1:
                weight = weight.unsqueeze(1)
            return (pred * weight).sum()
        if weight is not None and weight.dim() > 1:
            if weight.shape != pred.shape:
                raise ValueError(f'weight {tuple(weight.shape)} and pred {tuple(pred.shape)} '
                                 'must have the same shape')
            weight = weight.mean(-1)
        loss = giou_loss(pred, target, self.eps)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
