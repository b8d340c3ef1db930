"""Weighting and reduction shared by the losses (mmdetection 2.x semantics)."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

_REDUCTIONS = ('none', 'mean', 'sum')


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Reduce an element-wise ``loss`` with ``'none'``, ``'mean'`` or ``'sum'``."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f'reduction must be one of {_REDUCTIONS}, got {reduction!r}')
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


def weight_reduce_loss(loss: Tensor, weight: Tensor | None = None, reduction: str = 'mean',
                       avg_factor: float | Tensor | None = None) -> Tensor:
    """Multiply ``loss`` by ``weight`` (broadcast), then reduce.

    With ``avg_factor`` and ``reduction='mean'`` the result is ``loss.sum() / avg_factor``.
    """
    if weight is not None:
        loss = loss * weight
    if avg_factor is None:
        return reduce_loss(loss, reduction)
    if reduction == 'mean':
        return loss.sum() / (avg_factor + torch.finfo(torch.float32).eps)
    if reduction != 'none':
        raise ValueError('avg_factor can not be used with reduction="sum"')
    return loss


class ElementwiseLoss(nn.Module):
    """Base of losses computed element by element, then weighted and reduced.

    The one home of mmdetection's loss-module forward: subclasses implement
    :meth:`elementwise` and, where they differ, :meth:`shortcut` (a result that needs no
    element-wise loss) and :meth:`sample_weight` (``weight`` fitted to the loss);
    ``forward`` applies ``weight``, ``reduction`` / ``reduction_override``, ``avg_factor``
    and ``loss_weight``.

    Args:
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = reduction
        self.loss_weight = loss_weight

    def elementwise(self, pred: Tensor, target: Any) -> Tensor:
        """The unreduced loss (same shape as ``pred``, or one value per sample)."""
        raise NotImplementedError

    #: Whether an empty ``target`` gives ``pred.sum() * 0``, a zero that keeps the graph
    #: (mmdetection's L1 and smooth L1 losses), instead of being reduced like any other.
    zero_for_empty_target: bool = False

    def shortcut(self, pred: Tensor, target: Any, weight: Tensor | None,
                 reduction: str) -> Tensor | None:
        """The loss when it needs no element-wise computation, else None; here only the
        zero of an empty ``target`` (:attr:`zero_for_empty_target`)."""
        if self.zero_for_empty_target and target.numel() == 0:
            return pred.sum() * 0
        return None

    def sample_weight(self, weight: Tensor | None, pred: Tensor) -> Tensor | None:
        """``weight`` as it multiplies the element-wise loss of ``pred`` (here unchanged)."""
        return weight

    def forward(self, pred: Tensor, target: Any, weight: Tensor | None = None,
                avg_factor: float | Tensor | None = None,
                reduction_override: str | None = None) -> Tensor:
        """Loss of ``pred`` against ``target``, weighted by ``weight``."""
        reduction = reduction_override or self.reduction
        result = self.shortcut(pred, target, weight, reduction)
        if result is not None:
            return result
        loss = self.elementwise(pred, target)
        return self.loss_weight * weight_reduce_loss(loss, self.sample_weight(weight, pred),
                                                     reduction, avg_factor)
