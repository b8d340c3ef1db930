"""QualityFocalLoss and DistributionFocalLoss equal their formulas written out element by
element here (values and gradients), with weights, ``avg_factor`` and ``loss_weight``."""
from __future__ import annotations

import math

import pytest
import torch

from mmssd.registry import MODELS


def qfl_by_hand(pred: torch.Tensor, label: list[int], score: list[float],
                beta: float) -> torch.Tensor:
    """Per sample: ``sum_c BCE(p_c, t_c) * |t_c - p_c| ** beta``, ``t_c`` the quality score
    at the sample's class and 0 elsewhere."""
    out = []
    for i in range(pred.size(0)):
        total = pred.new_zeros(())
        for c in range(pred.size(1)):
            p = 1 / (1 + torch.exp(-pred[i, c]))
            t = score[i] if c == label[i] else 0.0
            bce = -(t * torch.log(p) + (1 - t) * torch.log(1 - p))
            total = total + bce * (t - p).abs() ** beta
        out.append(total)
    return torch.stack(out)


def dfl_by_hand(pred: torch.Tensor, target: list[float]) -> torch.Tensor:
    """Per sample: ``-(y_r - y) log softmax_{y_l} - (y - y_l) log softmax_{y_r}``."""
    out = []
    for i, y in enumerate(target):
        left = math.floor(y)
        log_probs = pred[i] - torch.logsumexp(pred[i], 0)
        out.append(-(left + 1 - y) * log_probs[left] - (y - left) * log_probs[left + 1])
    return torch.stack(out)


def test_quality_focal_loss_values_and_gradients() -> None:
    g = torch.Generator().manual_seed(0)
    pred = (torch.randn(7, 4, generator=g, dtype=torch.float64) * 2).requires_grad_()
    label = [0, 4, 2, 3, 4, 1, 4]  # 4: background (no class)
    score = torch.rand(7, generator=g, dtype=torch.float64)
    weight = torch.rand(7, generator=g, dtype=torch.float64)
    loss = MODELS.build(dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0,
                             loss_weight=0.5))
    got = loss(pred, (torch.tensor(label), score), weight=weight, avg_factor=3.0)
    ref_pred = pred.detach().clone().requires_grad_()
    want = 0.5 * (qfl_by_hand(ref_pred, label, score.tolist(), 2.0) * weight).sum() / 3.0
    torch.testing.assert_close(got, want)
    got.backward()
    want.backward()
    torch.testing.assert_close(pred.grad, ref_pred.grad)
    per_sample = loss(pred, (torch.tensor(label), score), reduction_override='none')
    torch.testing.assert_close(per_sample, 0.5 * qfl_by_hand(pred, label, score.tolist(), 2.0))


def test_distribution_focal_loss_values_and_gradients() -> None:
    g = torch.Generator().manual_seed(1)
    pred = torch.randn(9, 17, generator=g, dtype=torch.float64).requires_grad_()
    target = torch.rand(9, generator=g, dtype=torch.float64) * 15.9
    target[0] = 3.0  # on a bin: all weight on the left one
    weight = torch.rand(9, generator=g, dtype=torch.float64)
    loss = MODELS.build(dict(type='DistributionFocalLoss', loss_weight=0.25))
    got = loss(pred, target, weight=weight, avg_factor=4.0)
    ref_pred = pred.detach().clone().requires_grad_()
    want = 0.25 * (dfl_by_hand(ref_pred, target.tolist()) * weight).sum() / 4.0
    torch.testing.assert_close(got, want)
    got.backward()
    want.backward()
    torch.testing.assert_close(pred.grad, ref_pred.grad)


def test_qfl_refuses_softmax_and_bad_shapes() -> None:
    with pytest.raises(NotImplementedError, match='use_sigmoid'):
        MODELS.build(dict(type='QualityFocalLoss', use_sigmoid=False))
    loss = MODELS.build(dict(type='QualityFocalLoss'))
    with pytest.raises(ValueError, match='label'):
        loss(torch.zeros(3, 2), (torch.zeros(2, dtype=torch.long), torch.zeros(3)))
