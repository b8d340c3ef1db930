"""Sigmoid focal loss (Lin et al. 2017) in plain torch (mmdetection's ``py_sigmoid_focal_loss``)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from mmssd.registry import MODELS

from .utils import weight_reduce_loss


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
class FocalLoss(nn.Module):
    """Sigmoid focal loss module (only ``use_sigmoid=True``, as in mmdetection).

    Args:
        use_sigmoid: must be True.
        gamma: the focusing parameter.
        alpha: the weight of positives (``1 - alpha`` for negatives).
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, use_sigmoid: bool = True, gamma: float = 2.0, alpha: float = 0.25,
                 reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        if not use_sigmoid:
            raise NotImplementedError('only the sigmoid focal loss is supported')
        self.use_sigmoid = use_sigmoid
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Tensor | None = None,
                avg_factor: float | Tensor | None = None,
                reduction_override: str | None = None) -> Tensor:
        """Loss of logits ``pred (N, C)`` against ``target`` (``(N,)`` labels with ``C`` as
        background, or ``(N, C)``); ``weight`` is ``(N,)`` (per sample) or ``(N, C)``."""
        reduction = reduction_override or self.reduction
        loss = sigmoid_focal_loss(pred, target, self.gamma, self.alpha)
        if weight is not None:
            if weight.shape != loss.shape:
                if weight.size(0) == loss.size(0):  # per-sample weights
                    weight = weight.view(-1, 1)
                else:  # flattened (N * C,) weights
                    if weight.numel() != loss.numel():
                        raise ValueError(f'weight {tuple(weight.shape)} fits neither the loss '
                                         f'{tuple(loss.shape)} nor its samples')
                    weight = weight.view(loss.size(0), -1)
            weight = weight.float()
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
