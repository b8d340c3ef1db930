"""Sigmoid focal loss (Lin et al. 2017) in plain torch (mmdetection's ``py_sigmoid_focal_loss``)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from mmssd.registry import MODELS

from .utils import ElementwiseLoss


def sigmoid_focal_loss(pred: Tensor, target: Tensor, gamma: float = 2.0,
                       alpha: float = 0.25) -> Tensor:
    """Element-wise focal loss ``(N, C)`` of logits ``pred (N, C)``.

    ``target`` is ``(N, C)`` binary targets or ``(N,)`` class indices, where the index ``C``
    (background) means all zeros. With ``p = sigmoid(pred)`` and ``t`` the target, the loss is
    ``BCE(p, t) * (alpha t + (1 - alpha)(1 - t)) * ((1 - p) t + p (1 - t)) ** gamma``.
    """
    num_classes = pred.size(-1)
    if target.dim() != pred.dim():
        target = F.one_hot(target.long(), num_classes=num_classes + 1)[:, :num_classes]
    target = target.to(pred)
    pred_sigmoid = pred.sigmoid()
    pt = (1 - pred_sigmoid) * target + pred_sigmoid * (1 - target)
    focal_weight = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    return F.binary_cross_entropy_with_logits(pred, target, reduction='none') * focal_weight


@MODELS.register_module()
class FocalLoss(ElementwiseLoss):
    """Sigmoid focal loss module (only ``use_sigmoid=True``, as in mmdetection): logits
    ``pred (N, C)`` against ``target`` (``(N,)`` labels with ``C`` as background, or
    ``(N, C)``); ``weight`` is ``(N,)`` (per sample), ``(N, C)`` or flattened ``(N * C,)``.

    Args:
        use_sigmoid: must be True.
        gamma: the focusing parameter.
        alpha: the weight of positives (``1 - alpha`` for negatives).
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, use_sigmoid: bool = True, gamma: float = 2.0, alpha: float = 0.25,
                 reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        if not use_sigmoid:
            raise NotImplementedError('only the sigmoid focal loss is supported')
        self.use_sigmoid = use_sigmoid
        self.gamma = gamma
        self.alpha = alpha

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        """:func:`sigmoid_focal_loss`, ``(N, C)``."""
        return sigmoid_focal_loss(pred, target, self.gamma, self.alpha)

    def sample_weight(self, weight: Tensor | None, pred: Tensor) -> Tensor | None:
        """``weight`` as float ``(N, 1)`` (per sample) or ``(N, C)``."""
        if weight is None:
            return None
        if weight.shape != pred.shape:
            if weight.size(0) == pred.size(0):  # per-sample weights
                weight = weight.view(-1, 1)
            else:  # flattened (N * C,) weights
                if weight.numel() != pred.numel():
                    raise ValueError(f'weight {tuple(weight.shape)} fits neither the loss '
                                     f'{tuple(pred.shape)} nor its samples')
                weight = weight.view(pred.size(0), -1)
        return weight.float()
