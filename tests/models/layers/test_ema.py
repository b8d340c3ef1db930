"""ExpMomentumEMA / LinearMomentumEMA: mmengine averaged models with 2.x's momentum
schedules, against the formulas computed step by step here."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mmssd.models.layers import ExpMomentumEMA, LinearMomentumEMA


def trajectory(steps: int) -> tuple[nn.Module, list[dict[str, torch.Tensor]]]:
    """A small model and its parameters after each of ``steps`` random updates."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    states = []
    for _ in range(steps):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
            model[1].running_mean.add_(torch.randn(4))
        states.append({k: v.clone() for k, v in model.state_dict().items()})
    return model, states


@pytest.mark.parametrize('update_buffers', [False, True])
def test_exp_momentum_matches_2x_formula(update_buffers):
    momentum, gamma, steps = 0.05, 4, 12
    model, states = trajectory(steps)
    ema = ExpMomentumEMA(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)), momentum=momentum,
                         gamma=gamma, update_buffers=update_buffers)
    expected = {}
    for step, state in enumerate(states):
        model.load_state_dict(state)
        ema.update_parameters(model)
        m = (1 - momentum) * math.exp(-(1 + step) / gamma) + momentum
        for key, value in state.items():
            if not value.dtype.is_floating_point:
                continue
            averaged = key.endswith(('weight', 'bias')) or update_buffers
            if step == 0 or not averaged:
                expected[key] = value.clone()
            else:
                expected[key] = (1 - m) * expected[key] + m * value
    got = {k[len('module.'):]: v for k, v in ema.state_dict().items() if k.startswith('module.')}
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(got['0.weight'], states[-1]['0.weight'])  # really averaged


def test_linear_momentum_warms_up():
    momentum, warm_up, steps = 0.5, 10, 8
    model, states = trajectory(steps)
    ema = LinearMomentumEMA(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)),
                            momentum=momentum, warm_up=warm_up)
    expected = None
    for step, state in enumerate(states):
        model.load_state_dict(state)
        ema.update_parameters(model)
        w = state['0.weight']
        m = min(momentum, (1 + step) / (warm_up + step))
        expected = w.clone() if step == 0 else (1 - m) * expected + m * w
    torch.testing.assert_close(ema.module[0].weight, expected)
    assert (1 + 1) / (warm_up + 1) < momentum  # the warm-up momentum was used


def test_bad_arguments():
    with pytest.raises(ValueError, match='gamma must be > 0'):
        ExpMomentumEMA(nn.Linear(2, 2), gamma=0)
    with pytest.raises(ValueError, match='warm_up must be > 0'):
        LinearMomentumEMA(nn.Linear(2, 2), warm_up=0)
