"""Losses (registered in ``MODELS``) and their functional forms."""
from .cross_entropy_loss import CrossEntropyLoss, binary_cross_entropy, cross_entropy
from .hard_negative_mining import hard_negative_sum
from .smooth_l1_loss import SmoothL1Loss, smooth_l1_loss
from .utils import reduce_loss, weight_reduce_loss

__all__ = [
    'CrossEntropyLoss', 'binary_cross_entropy', 'cross_entropy', 'hard_negative_sum',
    'SmoothL1Loss', 'smooth_l1_loss', 'reduce_loss', 'weight_reduce_loss'
]
