"""Losses (registered in ``MODELS``) and their functional forms."""
from .cross_entropy_loss import CrossEntropyLoss, binary_cross_entropy, cross_entropy
from .focal_loss import FocalLoss, sigmoid_focal_loss
from .hard_negative_mining import hard_negative_sum
from .iou_loss import GIoULoss, IoULoss, giou_loss, iou_loss
from .l1_loss import L1Loss, l1_loss
from .smooth_l1_loss import SmoothL1Loss, smooth_l1_loss
from .utils import reduce_loss, weight_reduce_loss

__all__ = [
    'CrossEntropyLoss', 'binary_cross_entropy', 'cross_entropy', 'FocalLoss',
    'sigmoid_focal_loss', 'hard_negative_sum', 'GIoULoss', 'giou_loss',
    'IoULoss', 'iou_loss', 'L1Loss', 'l1_loss',
    'SmoothL1Loss', 'smooth_l1_loss', 'reduce_loss', 'weight_reduce_loss'
]
