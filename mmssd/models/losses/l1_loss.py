"""L1 loss (mmdetection 2.x's ``L1Loss``)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmssd.registry import MODELS

from .utils import weight_reduce_loss


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Element-wise ``|pred - target|``."""
    assert pred.size() == target.size(), (pred.size(), target.size())
    return torch.abs(pred - target)


@MODELS.register_module()
class L1Loss(nn.Module):
    """L1 loss module.

    Args:
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Tensor | None = None,
                avg_factor: float | Tensor | None = None,
                reduction_override: str | None = None) -> Tensor:
        """Loss of ``pred`` against ``target`` (same shape), weighted by ``weight``."""
        reduction = reduction_override or self.reduction
        if target.numel() == 0:
            return pred.sum() * 0
        loss = l1_loss(pred, target)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
