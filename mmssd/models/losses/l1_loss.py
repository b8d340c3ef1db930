"""L1 loss (mmdetection 2.x's ``L1Loss``)."""
from __future__ import annotations

import torch
from torch import Tensor

from mmssd.registry import MODELS

from .utils import ElementwiseLoss


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Element-wise ``|pred - target|``."""
    if pred.size() != target.size():
        raise ValueError(f'pred {tuple(pred.size())} and target {tuple(target.size())} must '
                         'have the same shape')
    return torch.abs(pred - target)


@MODELS.register_module()
class L1Loss(ElementwiseLoss):
    """L1 loss module.

    Args:
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    zero_for_empty_target = True

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return l1_loss(pred, target)
