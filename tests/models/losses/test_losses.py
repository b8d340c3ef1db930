"""Losses and hard negative mining."""
import math

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
    for num_neg in (torch.tensor([4, 0, 100]), torch.zeros(3, dtype=torch.long)):
        mined = losses.clone().requires_grad_()
        reference = losses.clone().requires_grad_()
        got = hard_negative_sum(mined, neg, num_neg)
        expected = sum(reference[i][neg[i]].topk(min(int(num_neg[i]), int(neg[i].sum())))
                       .values.sum() for i in range(3))
        torch.testing.assert_close(got, expected)
        (got + 0 * mined.sum()).backward()
        (expected + 0 * reference.sum()).backward()
        torch.testing.assert_close(mined.grad, reference.grad)


def test_l1_weight_reduction_avg_factor():
    loss = MODELS.build({'type': 'L1Loss', 'loss_weight': 2.0})
    pred, target = torch.tensor([[1., -2., 3., 0.]]), torch.zeros(1, 4)
    torch.testing.assert_close(loss(pred, target), torch.tensor(2 * 6 / 4))
    torch.testing.assert_close(loss(pred, target, reduction_override='sum'), torch.tensor(12.))
    weight = torch.tensor([[1., 0., 1., 1.]])
    torch.testing.assert_close(loss(pred, target, weight, avg_factor=2.), torch.tensor(4.))
    torch.testing.assert_close(loss(pred, target, reduction_override='none'), 2 * pred.abs())
    assert loss(torch.zeros(0, 4), torch.zeros(0, 4)) == 0


def hand_focal(logit: float, t: float, gamma: float = 2.0, alpha: float = 0.25) -> float:
    p = 1 / (1 + math.exp(-logit))
    if t:
        return -alpha * (1 - p) ** gamma * math.log(p)
    return -(1 - alpha) * p ** gamma * math.log(1 - p)


def test_focal_loss_against_hand_formula():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 3, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 2, 3, 1, 3, 2])  # 3 = background: every class target is 0
    expected = torch.tensor([[hand_focal(logits[i, c].item(), float(labels[i] == c))
                              for c in range(3)] for i in range(6)], dtype=torch.float64)
    loss = MODELS.build({'type': 'FocalLoss', 'loss_weight': 2.0})
    torch.testing.assert_close(loss(logits, labels, reduction_override='none'), 2 * expected)
    torch.testing.assert_close(loss(logits, labels), 2 * expected.mean())
    one_hot = F.one_hot(labels, 4)[:, :3]
    torch.testing.assert_close(loss(logits, one_hot), 2 * expected.mean())
    weight = torch.tensor([1., 0., 1., 1., 0., 1.], dtype=torch.float64)
    torch.testing.assert_close(loss(logits, labels, weight, avg_factor=3.),
                               2 * (expected * weight[:, None]).sum() / 3)
    other = MODELS.build({'type': 'FocalLoss', 'gamma': 0., 'alpha': 0.5})
    torch.testing.assert_close(  # gamma 0, alpha .5: half the binary cross-entropy
        other(logits, one_hot, reduction_override='sum'),
        0.5 * F.binary_cross_entropy_with_logits(logits, one_hot.double(), reduction='sum'))


def test_giou_loss_against_hand_values():
    pred = torch.tensor([[0., 0., 2., 2.], [0., 0., 1., 1.]])
    target = torch.tensor([[1., 1., 3., 3.], [2., 0., 3., 1.]])
    # pair 1: inter 1, union 7, IoU 1/7, enclosing 3x3 = 9: GIoU = 1/7 - (9 - 7)/9
    # pair 2: disjoint, union 2, enclosing 3x1 = 3: GIoU = 0 - (3 - 2)/3
    giou = torch.tensor([1 / 7 - 2 / 9, -1 / 3])
    loss = MODELS.build({'type': 'GIoULoss', 'loss_weight': 3.0})
    torch.testing.assert_close(loss(pred, target, reduction_override='none'), 3 * (1 - giou))
    torch.testing.assert_close(loss(pred, target), 3 * (1 - giou).mean())
    torch.testing.assert_close(loss(pred, target, torch.tensor([1., 0.]), avg_factor=1.),
                               3 * (1 - giou[0]))
    torch.testing.assert_close(loss(pred, target, torch.ones(2, 4), reduction_override='sum'),
                               3 * (1 - giou).sum())
    zero = loss(pred.requires_grad_(), target, torch.zeros(2))
    assert zero == 0 and zero.requires_grad
    torch.testing.assert_close(loss(target, target), torch.tensor(0.))
