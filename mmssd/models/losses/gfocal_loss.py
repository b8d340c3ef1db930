"""Generalized focal losses of GFL (Li et al. 2020): the quality focal loss (QFL) of a joint
classification-IoU score and the distribution focal loss (DFL) of a discretized box side.

mmdetection 2.x's ``QualityFocalLoss`` and ``DistributionFocalLoss``, arguments and
results alike. Shapes: ``n`` samples, ``C`` classes, ``R + 1`` bins of a distribution.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from mmssd.registry import MODELS

from .utils import ElementwiseLoss


def quality_focal_loss(pred: Tensor, label: Tensor, score: Tensor, beta: float = 2.0) -> Tensor:
    """Per-sample QFL ``(n,)`` of logits ``pred (n, C)``.

    ``label (n,)``: the class of a positive sample, any value outside ``[0, C)`` for a
    negative; ``score (n,)``: the positive's quality target ``y`` in ``[0, 1]`` (its IoU).
    With ``p = sigmoid(pred)`` every class costs ``BCE(p, 0) * p ** beta`` except the
    positive's own, which costs ``BCE(p, y) * |y - p| ** beta``; summed over the classes.
    """
    if label.shape != pred.shape[:1] or score.shape != pred.shape[:1]:
        raise ValueError(f'quality_focal_loss: label {tuple(label.shape)} and score '
                         f'{tuple(score.shape)} must be ({pred.size(0)},) for pred '
                         f'{tuple(pred.shape)}')
    num_classes = pred.size(1)
    prob = pred.sigmoid()
    positive = (label >= 0) & (label < num_classes)
    one_hot = F.one_hot(torch.where(positive, label, num_classes).long(),
                        num_classes + 1)[:, :num_classes].to(torch.bool)
    target = torch.where(one_hot, score[:, None].to(pred.dtype), torch.zeros_like(pred))
    modulator = torch.where(one_hot, (target - prob).abs(), prob).pow(beta)
    loss = F.binary_cross_entropy_with_logits(pred, target, reduction='none') * modulator
    return loss.sum(dim=1)


def distribution_focal_loss(pred: Tensor, label: Tensor) -> Tensor:
    """Per-sample DFL ``(n,)`` of bin logits ``pred (n, R + 1)`` for continuous targets
    ``label (n,)`` in ``[0, R)``: the cross-entropy of the two bins around the target,
    each weighted by the target's closeness to it (``y_l = floor(y)``, ``y_r = y_l + 1``:
    ``CE(y_l) (y_r - y) + CE(y_r) (y - y_l)``)."""
    left = label.long()
    right = left + 1
    weight_left = right.to(pred.dtype) - label
    weight_right = label - left.to(pred.dtype)
    return (F.cross_entropy(pred, left, reduction='none') * weight_left
            + F.cross_entropy(pred, right, reduction='none') * weight_right)


@MODELS.register_module()
class QualityFocalLoss(ElementwiseLoss):
    """QFL module (only ``use_sigmoid=True``, as mmdetection 2.x): logits ``pred (n, C)``
    against ``target = (label (n,), score (n,))``, ``weight (n,)`` per sample.

    Args:
        use_sigmoid: must be True (sigmoid outputs).
        beta: the exponent of the modulating factor.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, use_sigmoid: bool = True, beta: float = 2.0, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        if not use_sigmoid:
            raise NotImplementedError('QualityFocalLoss: only use_sigmoid=True is supported')
        self.use_sigmoid = use_sigmoid
        self.beta = beta

    def elementwise(self, pred: Tensor, target: tuple[Tensor, Tensor]) -> Tensor:
        """:func:`quality_focal_loss` per sample, ``(n,)``."""
        label, score = target
        return quality_focal_loss(pred, label, score, self.beta)


@MODELS.register_module()
class DistributionFocalLoss(ElementwiseLoss):
    """DFL module: bin logits ``pred (n, R + 1)`` against targets ``target (n,)`` in
    ``[0, R)``, ``weight (n,)`` per sample.

    Args:
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        """:func:`distribution_focal_loss` per sample, ``(n,)``."""
        return distribution_focal_loss(pred, target)
