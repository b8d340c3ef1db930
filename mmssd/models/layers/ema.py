"""Weight averages of mmdetection 2.x's EMA hooks, as mmengine averaged models.

mmengine's ``EMAHook(ema_type=...)`` keeps the average, swaps it in for validation and
writes it as the checkpoint's ``state_dict`` (the raw weights go to ``ema_state_dict``).
Each class here is ``ExponentialMovingAverage`` (``avg = (1 - m) * avg + m * param``
every ``interval`` iterations) with 2.x's schedule of ``m`` over the update ``steps``
(``steps`` is the iteration index, as 2.x's ``runner.iter``; the first update copies).
"""
from __future__ import annotations

import math

import torch
from mmengine.model import ExponentialMovingAverage
from torch import Tensor

from mmssd.registry import MODELS


@MODELS.register_module()
class ExpMomentumEMA(ExponentialMovingAverage):
    """2.x ``ExpMomentumEMAHook`` (YOLOX): ``m = (1 - momentum) * exp(-(1 + steps) / gamma)
    + momentum``, large at first (the average follows the weights) and decaying to
    ``momentum`` over about ``gamma`` iterations (2.x's ``total_iter``).

    Args:
        model: the model to average.
        momentum: the final momentum.
        gamma: the decay's time constant, in iterations.
        interval, device, update_buffers: see ``ExponentialMovingAverage``.
    """

    def __init__(self, model: torch.nn.Module, momentum: float = 0.0002, gamma: int = 2000,
                 interval: int = 1, device: torch.device | None = None,
                 update_buffers: bool = False) -> None:
        super().__init__(model, momentum=momentum, interval=interval, device=device,
                         update_buffers=update_buffers)
        if gamma <= 0:
            raise ValueError(f'ExpMomentumEMA: gamma must be > 0; got {gamma}')
        self.gamma = gamma

    def avg_func(self, averaged_param: Tensor, source_param: Tensor, steps: int) -> None:
        momentum = (1 - self.momentum) * math.exp(-float(1 + steps) / self.gamma) + self.momentum
        averaged_param.lerp_(source_param, momentum)


@MODELS.register_module()
class LinearMomentumEMA(ExponentialMovingAverage):
    """mmcv 1.x ``EMAHook`` and 2.x ``LinearMomentumEMAHook``:
    ``m = min(momentum, (1 + steps) / (warm_up + steps))``, a smaller momentum during the
    first ``warm_up`` iterations when ``momentum > 1 / warm_up``.

    Args:
        model: the model to average.
        momentum: the momentum after the warm-up.
        warm_up: warm-up length, in iterations.
        interval, device, update_buffers: see ``ExponentialMovingAverage``.
    """

    def __init__(self, model: torch.nn.Module, momentum: float = 0.0002, warm_up: int = 100,
                 interval: int = 1, device: torch.device | None = None,
                 update_buffers: bool = False) -> None:
        super().__init__(model, momentum=momentum, interval=interval, device=device,
                         update_buffers=update_buffers)
        if warm_up <= 0:
            raise ValueError(f'LinearMomentumEMA: warm_up must be > 0; got {warm_up}')
        self.warm_up = warm_up

    def avg_func(self, averaged_param: Tensor, source_param: Tensor, steps: int) -> None:
        momentum = min(self.momentum, (1 + steps) / (self.warm_up + steps))
        averaged_param.lerp_(source_param, momentum)
