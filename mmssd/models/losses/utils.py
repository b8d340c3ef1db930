"""Weighting and reduction shared by the losses (mmdetection 2.x semantics)."""
from __future__ import annotations

import torch
from torch import Tensor

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
