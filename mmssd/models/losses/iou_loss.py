"""IoU-based box losses of mmdetection 2.x: ``IoULoss`` (UnitBox, Yu et al. 2016; linear
and log modes) and ``GIoULoss`` (Rezatofighi et al. 2019).

Both compare aligned boxes ``pred (n, 4)`` and ``target (n, 4)`` ``[x1, y1, x2, y2]`` and
share :class:`AlignedIoULoss`'s weighting: ``weight`` ``(n,)`` or ``(n, 4)`` (averaged over
the last dimension), ``avg_factor``, ``reduction`` and ``loss_weight``.
"""
from __future__ import annotations

import warnings

import torch
from torch import Tensor

from mmssd.registry import MODELS
from mmssd.structures.bbox import bbox_overlaps

from .utils import ElementwiseLoss

IOU_LOSS_MODES = ('linear', 'square', 'log')


def giou_loss(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """``1 - GIoU`` of aligned boxes ``pred (..., 4)`` and ``target (..., 4)``; ``(...)``."""
    return 1 - bbox_overlaps(pred, target, mode='giou', is_aligned=True, eps=eps)


def iou_loss(pred: Tensor, target: Tensor, mode: str = 'log', eps: float = 1e-6) -> Tensor:
    """IoU loss of aligned boxes ``pred (..., 4)`` and ``target (..., 4)``; ``(...)``.

    The IoU is clamped to at least ``eps``; ``mode`` ``'linear'``: ``1 - IoU``,
    ``'square'``: ``1 - IoU ** 2``, ``'log'``: ``-log(IoU)``.
    """
    if mode not in IOU_LOSS_MODES:
        raise ValueError(f'IoU loss mode must be one of {IOU_LOSS_MODES}, got {mode!r}')
    ious = bbox_overlaps(pred, target, is_aligned=True).clamp(min=eps)
    if mode == 'linear':
        return 1 - ious
    if mode == 'square':
        return 1 - ious ** 2
    return -ious.log()


class AlignedIoULoss(ElementwiseLoss):
    """Base of the losses of aligned box pairs ``pred (n, 4)``, ``target (n, 4)``:
    :class:`ElementwiseLoss` with mmdetection's IoU-loss weighting, ``weight`` ``(n,)`` or
    ``(n, 4)`` (averaged over the last dimension).

    Subclasses implement :meth:`elementwise` (``(n,)`` from ``(n, 4)`` pairs).

    Args:
        eps: the IoU loss's IoU floor, the GIoU loss's denominator floor.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, eps: float = 1e-6, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.eps = eps

    def shortcut(self, pred: Tensor, target: Tensor, weight: Tensor | None,
                 reduction: str) -> Tensor | None:
        """With no positive weight and a reduction, ``(pred * weight).sum()``: a zero that
        keeps the graph (as mmdetection); else None."""
        if weight is not None and not torch.any(weight > 0) and reduction != 'none':
            if pred.dim() == weight.dim() + 1:
                weight = weight.unsqueeze(1)
            return (pred * weight).sum()
        return None

    def sample_weight(self, weight: Tensor | None, pred: Tensor) -> Tensor | None:
        """A ``(n, 4)`` weight averaged to ``(n,)``; ``(n,)`` or None unchanged."""
        if weight is not None and weight.dim() > 1:
            if weight.shape != pred.shape:
                raise ValueError(f'weight {tuple(weight.shape)} and pred {tuple(pred.shape)} '
                                 'must have the same shape')
            weight = weight.mean(-1)
        return weight


@MODELS.register_module()
class IoULoss(AlignedIoULoss):
    """IoU loss module (mmdetection 2.x's ``IoULoss``; FCOS uses the default log mode).

    Args:
        linear: deprecated switch to ``mode='linear'`` (as mmdetection, with a warning).
        eps: lower bound of the IoU.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
        mode: ``'log'`` (``-log IoU``), ``'linear'`` (``1 - IoU``) or ``'square'``
            (``1 - IoU ** 2``).
    """

    def __init__(self, linear: bool = False, eps: float = 1e-6, reduction: str = 'mean',
                 loss_weight: float = 1.0, mode: str = 'log') -> None:
        super().__init__(eps, reduction, loss_weight)
        if mode not in IOU_LOSS_MODES:
            raise ValueError(f'IoULoss mode must be one of {IOU_LOSS_MODES}, got {mode!r}')
        if linear:
            warnings.warn("IoULoss(linear=True) is deprecated, use mode='linear'",
                          DeprecationWarning, stacklevel=2)
            mode = 'linear'
        self.mode = mode
        self.linear = linear

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        """:func:`iou_loss` of every pair, ``(n,)``."""
        return iou_loss(pred, target, self.mode, self.eps)


@MODELS.register_module()
class GIoULoss(AlignedIoULoss):
    """GIoU loss module (mmdetection 2.x's ``GIoULoss``).

    Args:
        eps: lower bound of the union and the enclosing area.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        """:func:`giou_loss` of every pair, ``(n,)``."""
        return giou_loss(pred, target, self.eps)
