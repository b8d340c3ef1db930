"""Smooth L1 (Huber-like) loss used for SSD's box regression."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmssd.registry import MODELS

from .utils import weight_reduce_loss


def smooth_l1_loss(pred: Tensor, target: Tensor, beta: float = 1.0) -> Tensor:
    """Element-wise smooth L1: ``0.5 d^2 / beta`` where ``d < beta``, else ``d - 0.5 beta``."""
    assert beta > 0, f'beta must be positive, got {beta}'
    assert pred.size() == target.size(), (pred.size(), target.size())
    diff = torch.abs(pred - target)
    return torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)


@MODELS.register_module()
class SmoothL1Loss(nn.Module):
    """Smooth L1 loss module.

    Args:
        beta: the point where the loss turns from quadratic to linear.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, beta: float = 1.0, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.beta = beta
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Tensor | None = None,
                avg_factor: float | Tensor | None = None,
                reduction_override: str | None = None) -> Tensor:
        """Loss of ``pred (..., 4)`` against ``target (..., 4)``, weighted by ``weight``."""
        reduction = reduction_override or self.reduction
        if target.numel() == 0:
            return pred.sum() * 0
        loss = smooth_l1_loss(pred, target, self.beta)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
