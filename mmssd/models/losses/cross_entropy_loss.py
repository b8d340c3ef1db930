"""Cross-entropy losses: softmax over classes, or per-class sigmoid."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from mmssd.registry import MODELS

from .utils import ElementwiseLoss


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
class CrossEntropyLoss(ElementwiseLoss):
    """Cross-entropy loss module: logits ``pred (N, C)`` against labels ``target (N,)``
    (sigmoid: also ``(N, C)`` targets); ``weight (N,)`` per sample.

    Args:
        use_sigmoid: per-class sigmoid instead of softmax over classes.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        class_weight: per-class weights, or None.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, use_sigmoid: bool = False, reduction: str = 'mean',
                 class_weight: list[float] | None = None, loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.use_sigmoid = use_sigmoid
        self.class_weight = class_weight

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        """:func:`binary_cross_entropy` ``(N, C)`` or :func:`cross_entropy` ``(N,)``."""
        class_weight = (None if self.class_weight is None else
                        pred.new_tensor(self.class_weight))
        if self.use_sigmoid:
            return binary_cross_entropy(pred, target, class_weight)
        return cross_entropy(pred, target, class_weight)

    def sample_weight(self, weight: Tensor | None, pred: Tensor) -> Tensor | None:
        """``weight`` as float, ``(N, 1)`` for the sigmoid's ``(N, C)`` loss."""
        if weight is None:
            return None
        if self.use_sigmoid and weight.dim() == 1:
            weight = weight[:, None]
        return weight.float()
