"""Cross-entropy losses: softmax over classes, or per-class sigmoid."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from mmssd.registry import MODELS

from .utils import weight_reduce_loss


def cross_entropy(pred: Tensor, label: Tensor, class_weight: Tensor | None = None) -> Tensor:
    """Per-sample softmax cross-entropy of logits ``pred (N, C)`` and labels ``label (N,)``."""
    return F.cross_entropy(pred, label, weight=class_weight, reduction='none')


def binary_cross_entropy(pred: Tensor, label: Tensor,
                         class_weight: Tensor | None = None) -> Tensor:
    """Per-element sigmoid cross-entropy ``(N, C)``.

    ``label`` is either ``(N, C)`` targets or ``(N,)`` class indices, where an index
    outside ``[0, C)`` (the background ``C``) means all zeros.
    """
    if label.dim() != pred.dim():
        valid = (label >= 0) & (label < pred.size(-1))
        one_hot = F.one_hot(label.clamp(0, pred.size(-1) - 1), pred.size(-1)) * valid[:, None]
        label = one_hot
    return F.binary_cross_entropy_with_logits(pred, label.to(pred), weight=class_weight,
                                              reduction='none')


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Cross-entropy loss module.

    Args:
        use_sigmoid: per-class sigmoid instead of softmax over classes.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        class_weight: per-class weights, or None.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, use_sigmoid: bool = False, reduction: str = 'mean',
                 class_weight: list[float] | None = None, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.use_sigmoid = use_sigmoid
        self.reduction = reduction
        self.class_weight = class_weight
        self.loss_weight = loss_weight

    def forward(self, cls_score: Tensor, label: Tensor, weight: Tensor | None = None,
                avg_factor: float | Tensor | None = None,
                reduction_override: str | None = None) -> Tensor:
        """Loss of logits ``cls_score (N, C)`` against ``label (N,)``; ``weight (N,)``."""
        reduction = reduction_override or self.reduction
        class_weight = (None if self.class_weight is None else
                        cls_score.new_tensor(self.class_weight))
        if self.use_sigmoid:
            loss = binary_cross_entropy(cls_score, label, class_weight)
            if weight is not None and weight.dim() == 1:
                weight = weight[:, None]
        else:
            loss = cross_entropy(cls_score, label, class_weight)
        if weight is not None:
            weight = weight.float()
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
