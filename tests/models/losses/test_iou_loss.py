"""IoU and GIoU losses against hand computations (incl. disjoint and degenerate boxes),
and mmdetection's weight / avg_factor / reduction behaviour."""
import math

import pytest
import torch

from mmssd.registry import MODELS

PRED = torch.tensor([[0., 0., 2., 2.], [0., 0., 1., 1.], [1., 1., 1., 1.], [0., 0., 4., 2.]])
TARGET = torch.tensor([[1., 1., 3., 3.], [2., 0., 3., 1.], [0., 0., 2., 2.], [0., 0., 2., 2.]])
# pair 0: inter 1, union 7; pair 1: disjoint; pair 2: a point inside a 2x2 box (area 0);
# pair 3: the target covers half of the prediction
IOU = torch.tensor([1 / 7, 0., 0., 0.5])
# enclosing boxes: 3x3 = 9, 3x1 = 3, 2x2 = 4 (= union), 4x2 = 8 (= union)
GIOU = torch.tensor([1 / 7 - 2 / 9, -1 / 3, 0., 0.5])


def test_iou_loss_modes_against_hand_values():
    eps = 1e-6
    clamped = IOU.clamp(min=eps)
    for mode, expected in [('linear', 1 - clamped), ('square', 1 - clamped ** 2),
                           ('log', -clamped.log())]:
        loss = MODELS.build({'type': 'IoULoss', 'mode': mode, 'loss_weight': 2.0})
        torch.testing.assert_close(loss(PRED, TARGET, reduction_override='none'), 2 * expected)
    assert math.isclose(float(-clamped.log()[1]), -math.log(eps), rel_tol=1e-5)
    with pytest.warns(DeprecationWarning, match="mode='linear'"):
        legacy = MODELS.build({'type': 'IoULoss', 'linear': True})
    assert legacy.mode == 'linear'
    with pytest.raises(ValueError, match='mode must be one of'):
        MODELS.build({'type': 'IoULoss', 'mode': 'lin'})


def test_giou_against_hand_values_incl_disjoint_and_degenerate():
    loss = MODELS.build({'type': 'GIoULoss', 'loss_weight': 3.0})
    torch.testing.assert_close(loss(PRED, TARGET, reduction_override='none'), 3 * (1 - GIOU))
    # two identical points: union and enclosing area both at the eps floor -> GIoU 0
    point = torch.tensor([[5., 5., 5., 5.]])
    torch.testing.assert_close(loss(point, point), torch.tensor(3.))
    torch.testing.assert_close(loss(TARGET, TARGET), torch.tensor(0.))


@pytest.mark.parametrize('loss_type,per_pair', [('IoULoss', -IOU.clamp(min=1e-6).log()),
                                                ('GIoULoss', 1 - GIOU)])
def test_weight_avg_factor_reduction(loss_type, per_pair):
    loss = MODELS.build({'type': loss_type, 'loss_weight': 0.5})
    weight = torch.tensor([1., 0.5, 2., 0.])
    torch.testing.assert_close(loss(PRED, TARGET), 0.5 * per_pair.mean())
    torch.testing.assert_close(loss(PRED, TARGET, weight, reduction_override='sum'),
                               0.5 * (per_pair * weight).sum())
    torch.testing.assert_close(loss(PRED, TARGET, weight, avg_factor=4.),
                               0.5 * (per_pair * weight).sum() / 4)
    # (n, 4) weights are averaged over the last dimension
    torch.testing.assert_close(loss(PRED, TARGET, weight[:, None].expand(-1, 4).clone()),
                               0.5 * (per_pair * weight).mean())
    with pytest.raises(ValueError, match='same shape'):
        loss(PRED, TARGET, torch.ones(4, 2))
    # no positive weight: a zero that keeps the graph (a reduction) or per-pair zeros ('none')
    pred = PRED.clone().requires_grad_()
    zero = loss(pred, TARGET, torch.zeros(4))
    assert zero == 0 and zero.requires_grad
    torch.testing.assert_close(loss(pred, TARGET, torch.zeros(4), reduction_override='none'),
                               torch.zeros(4))
    with pytest.raises(ValueError, match='avg_factor can not be used'):
        loss(PRED, TARGET, weight, avg_factor=2., reduction_override='sum')
