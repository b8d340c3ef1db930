"""Smooth L1 (Huber-like) loss used for SSD's box regression."""
from __future__ import annotations

import torch
from torch import Tensor

from mmssd.registry import MODELS

from .utils import ElementwiseLoss


def smooth_l1_loss(pred: Tensor, target: Tensor, beta: float = 1.0) -> Tensor:
    """Element-wise smooth L1: ``0.5 d^2 / beta`` where ``d < beta``, else ``d - 0.5 beta``."""
    if beta <= 0:
        raise ValueError(f'beta must be positive, got {beta}')
    if pred.size() != target.size():
        raise ValueError(f'pred {tuple(pred.size())} and target {tuple(target.size())} must '
                         'have the same shape')
    diff = torch.abs(pred - target)
    return torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)


@MODELS.register_module()
class SmoothL1Loss(ElementwiseLoss):
    """Smooth L1 loss module.

    Args:
        beta: the point where the loss turns from quadratic to linear.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    zero_for_empty_target = True

    def __init__(self, beta: float = 1.0, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.beta = beta

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return smooth_l1_loss(pred, target, self.beta)
