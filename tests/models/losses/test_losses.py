"""Losses and hard negative mining."""
import torch
import torch.nn.functional as F

from mmssd.models.losses import hard_negative_sum
from mmssd.registry import MODELS


def test_smooth_l1():
    loss = MODELS.build({'type': 'SmoothL1Loss', 'beta': 1.0, 'loss_weight': 2.0})
    pred, target = torch.tensor([[0., 0., 3., 0.5]]), torch.zeros(1, 4)
    # 0, 0, 3 - .5, .5 * .25
    torch.testing.assert_close(loss(pred, target, reduction_override='sum'), torch.tensor(5.25))
    torch.testing.assert_close(loss(pred, target, avg_factor=2.), torch.tensor(2.625))


def test_cross_entropy():
    logits, labels = torch.randn(5, 4), torch.tensor([0, 3, 2, 1, 3])
    softmax = MODELS.build({'type': 'CrossEntropyLoss'})
    torch.testing.assert_close(softmax(logits, labels), F.cross_entropy(logits, labels))
    sigmoid = MODELS.build({'type': 'CrossEntropyLoss', 'use_sigmoid': True})
    one_hot = F.one_hot(labels, 4).float()
    torch.testing.assert_close(sigmoid(logits, labels),
                               F.binary_cross_entropy_with_logits(logits, one_hot))


def test_hard_negative_sum_matches_topk():
    g = torch.Generator().manual_seed(0)
    losses = torch.rand(3, 20, generator=g)
    neg = torch.rand(3, 20, generator=g) > 0.3
    num_neg = torch.tensor([4, 0, 100])
    expected = sum(losses[i][neg[i]].topk(min(int(num_neg[i]), int(neg[i].sum()))).values.sum()
                   for i in range(3))
    torch.testing.assert_close(hard_negative_sum(losses, neg, num_neg), expected)
