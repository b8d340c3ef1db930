"""Learning-rate schedules of mmcv 1.x that mmengine lacks or counts differently.

mmcv 1.x computes ``lr = policy(progress) * warmup(iteration)``. mmengine chains
schedulers by letting each update the current value; its cosine and polynomial
schedulers update ``lr - eta_min`` recursively, which is not a product once a warm-up
scales the same value. The schedulers here update by the ratio of their closed form
between consecutive steps, ``lr <- lr * f(t) / f(t - 1)`` (``f(-1)`` is the base
learning rate), so any chain of them and mmengine's multiplicative schedulers
(``LinearLR``, ``ConstantLR``, ``MultiStepLR``, ``ExponentialLR``) is exactly the product
mmcv computed.
"""
from __future__ import annotations

import math

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from mmssd.registry import PARAM_SCHEDULERS


class _RatioScheduler(LRSchedulerMixin, _ParamScheduler):
    """Base: step ``t`` multiplies the learning rate by ``f(t) / f(t - 1)``.

    Subclasses define ``closed_form(base_lr, t)``; ``t`` counts from ``begin``.
    """

    def closed_form(self, base_lr: float, t: int) -> float:
        raise NotImplementedError

    def _get_value(self) -> list[float]:
        t = self.last_step
        values = []
        for group in self.optimizer.param_groups:
            base = group[f'initial_{self.param_name}']
            previous = base if t == 0 else self.closed_form(base, t - 1)
            current = self.closed_form(base, t)
            ratio = current / previous if previous != 0 else 0.0
            values.append(group[self.param_name] * ratio)
        return values

    @classmethod
    def build_iter_from_epoch(cls, *args, begin: int = 0, end: int = INF,
                              by_epoch: bool = True, epoch_length: int | None = None,
                              **kwargs):
        """The same schedule counted in iterations (``convert_to_iter_based``)."""
        if not by_epoch or not epoch_length:
            raise ValueError(f'{cls.__name__}: converting to iterations needs by_epoch=True '
                             f'and a positive epoch_length; got {by_epoch}, {epoch_length}')
        end = end if end == INF else int(end * epoch_length)
        return cls(*args, begin=int(begin * epoch_length), end=end, by_epoch=False, **kwargs)


@PARAM_SCHEDULERS.register_module()
class ExpWarmupLR(_RatioScheduler):
    """mmcv's ``warmup='exp'``: factor ``ratio ** (1 - t / (end - begin - 1))``.

    Rises from ``ratio`` at the first step to 1 at the last step of ``[begin, end)``.
    """

    def __init__(self, optimizer, ratio: float, begin: int = 0, end: int = 2,
                 last_step: int = -1, by_epoch: bool = False, verbose: bool = False):
        if not 0 < ratio <= 1:
            raise ValueError(f'ExpWarmupLR: ratio must be in (0, 1]; got {ratio}')
        if end - begin < 2:
            raise ValueError(f'ExpWarmupLR: needs end - begin >= 2; got {begin}..{end}')
        self.ratio = ratio
        self.total_iters = end - begin - 1
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def closed_form(self, base_lr: float, t: int) -> float:
        return base_lr * self.ratio ** (1 - t / self.total_iters)


class _AnnealToMinimum(_RatioScheduler):
    """Shared arguments of the schedules that end at ``eta_min`` (or ``eta_min_ratio``
    times the base learning rate) after ``end - begin`` steps."""

    def __init__(self, optimizer, eta_min: float | None = None,
                 eta_min_ratio: float | None = None, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False):
        if eta_min is not None and eta_min_ratio is not None:
            raise ValueError(f'{type(self).__name__}: give eta_min or eta_min_ratio, not both')
        if end == INF:
            raise ValueError(f'{type(self).__name__}: needs a finite `end`')
        self.eta_min = eta_min or 0.0
        self.eta_min_ratio = eta_min_ratio
        self.total = end - begin
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def minimum(self, base_lr: float) -> float:
        return base_lr * self.eta_min_ratio if self.eta_min_ratio is not None else self.eta_min


@PARAM_SCHEDULERS.register_module()
class MMCVCosineAnnealingLR(_AnnealToMinimum):
    """mmcv's ``CosineAnnealing``: ``min + (base - min) * (1 + cos(pi * t / T)) / 2``,
    ``T = end - begin``."""

    def closed_form(self, base_lr: float, t: int) -> float:
        low = self.minimum(base_lr)
        return low + (base_lr - low) * (1 + math.cos(math.pi * t / self.total)) / 2


@PARAM_SCHEDULERS.register_module()
class MMCVPolyLR(_AnnealToMinimum):
    """mmcv's ``Poly``: ``(base - min) * (1 - t / T) ** power + min``, ``T = end - begin``
    (mmengine's ``PolyLR`` divides by ``T - 1``)."""

    def __init__(self, optimizer, power: float = 1.0, **kwargs):
        self.power = power
        super().__init__(optimizer, **kwargs)

    def closed_form(self, base_lr: float, t: int) -> float:
        low = self.minimum(base_lr)
        return (base_lr - low) * (1 - t / self.total) ** self.power + low


@PARAM_SCHEDULERS.register_module()
class MMCVCosineRestartLR(_RatioScheduler):
    """mmcv's ``CosineRestart``: a cosine from ``weight_i * (base - min) + min`` towards
    ``min`` over each period, restarting at the cumulative period boundaries.

    Step ``t`` (from ``begin``) lies in period ``i`` (``periods[i]`` steps, starting at
    ``start_i``); the learning rate is
    ``min + weight_i * (base - min) * (1 + cos(pi * (t - start_i) / periods[i])) / 2``.
    The schedule covers ``sum(periods)`` steps; ``end`` defaults to ``begin`` plus that.
    """

    def __init__(self, optimizer, periods: list[int], restart_weights: list[float],
                 eta_min: float | None = None, eta_min_ratio: float | None = None,
                 begin: int = 0, end: int | None = None, last_step: int = -1,
                 by_epoch: bool = True, verbose: bool = False):
        if len(periods) != len(restart_weights):
            raise ValueError(f'MMCVCosineRestartLR: periods {list(periods)} and '
                             f'restart_weights {list(restart_weights)} differ in length')
        if any(int(p) != p or p < 1 for p in periods):
            raise ValueError(f'MMCVCosineRestartLR: periods must be positive integers; '
                             f'got {list(periods)}')
        if (eta_min is None) == (eta_min_ratio is None):
            raise ValueError('MMCVCosineRestartLR: give exactly one of eta_min and '
                             f'eta_min_ratio; got {eta_min}, {eta_min_ratio}')
        if any(w <= 0 for w in restart_weights) and not (eta_min or eta_min_ratio):
            # the learning rate would be 0 for a whole period, and a ratio of 0 can not
            # be undone by the next restart
            raise ValueError('MMCVCosineRestartLR: restart_weights must be > 0 when the '
                             f'minimum is 0; got {list(restart_weights)}')
        self.periods = [int(p) for p in periods]
        self.restart_weights = [float(w) for w in restart_weights]
        self.eta_min, self.eta_min_ratio = eta_min, eta_min_ratio
        super().__init__(optimizer, begin=begin,
                         end=begin + sum(self.periods) if end is None else end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose)

    def closed_form(self, base_lr: float, t: int) -> float:
        low = base_lr * self.eta_min_ratio if self.eta_min_ratio is not None else self.eta_min
        t = min(t, sum(self.periods) - 1)  # past the last period mmcv raises; stay
        idx, start = 0, 0
        while t >= start + self.periods[idx]:
            start += self.periods[idx]
            idx += 1
        period, weight = self.periods[idx], self.restart_weights[idx]
        cos_out = math.cos(math.pi * (t - start) / period) + 1
        return low + 0.5 * weight * (base_lr - low) * cos_out


@PARAM_SCHEDULERS.register_module()
class YOLOXLR(_RatioScheduler):
    """mmdetection 2.x's ``policy='YOLOX'`` (``YOLOXLrUpdaterHook``), per iteration.

    Over a run of ``T = end - begin`` iterations with ``E`` iterations per epoch and
    ``t`` the iteration (from 0), ``p = t + 1``, ``W`` the warm-up iterations and
    ``L = E * num_last_epochs``: the learning rate is the minimum (``eta_min_ratio`` x base,
    or ``eta_min``) once ``p >= T - L``, else a cosine from the base to the minimum,
    ``annealing_cos(base, min, (p - W) / (T - W - L))``; during the warm-up (``t < W``) that
    value times ``warmup_ratio * ((t + 1) / W) ** 2`` (YOLOX's quadratic "exp" warm-up).

    Args:
        warmup_iters: warm-up length, in epochs when ``warmup_by_epoch``.
        warmup_by_epoch: count ``warmup_iters`` in epochs.
        warmup_ratio: warm-up factor at its end.
        num_last_epochs: epochs at the minimum at the end.
        eta_min, eta_min_ratio: the minimum (one of them).
        epoch_length: iterations per epoch ``E`` (set by ``convert_to_iter_based``).
    """

    def __init__(self, optimizer, num_last_epochs: int, warmup_iters: int = 5,
                 warmup_by_epoch: bool = True, warmup_ratio: float = 1.0,
                 eta_min: float | None = None, eta_min_ratio: float | None = None,
                 epoch_length: int | None = None, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = False, verbose: bool = False):
        if by_epoch or not epoch_length or end == INF:
            raise ValueError('YOLOXLR runs per iteration over a finite run: build it with '
                             'by_epoch=True, convert_to_iter_based=True and an epoch-based '
                             'end (the translation of lr_config does)')
        if (eta_min is None) == (eta_min_ratio is None):
            raise ValueError('YOLOXLR: give exactly one of eta_min and eta_min_ratio')
        self.eta_min, self.eta_min_ratio = eta_min, eta_min_ratio
        self.warmup = int(warmup_iters * epoch_length if warmup_by_epoch else warmup_iters)
        self.warmup_ratio = warmup_ratio
        self.last_iters = int(epoch_length * num_last_epochs)
        self.total = end - begin
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step,
                         by_epoch=False, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args, begin: int = 0, end: int = INF,
                              by_epoch: bool = True, epoch_length: int | None = None,
                              **kwargs):
        """The schedule in iterations, knowing the epoch length."""
        if not by_epoch or not epoch_length or end == INF:
            raise ValueError('YOLOXLR: converting to iterations needs by_epoch=True, a finite '
                             f'end and a positive epoch_length; got {by_epoch}, {end}, '
                             f'{epoch_length}')
        return cls(*args, begin=int(begin * epoch_length), end=int(end * epoch_length),
                   by_epoch=False, epoch_length=epoch_length, **kwargs)

    def closed_form(self, base_lr: float, t: int) -> float:
        low = base_lr * self.eta_min_ratio if self.eta_min_ratio is not None else self.eta_min
        progress = t + 1
        if progress >= self.total - self.last_iters:
            lr = low
        else:
            factor = (progress - self.warmup) / (self.total - self.warmup - self.last_iters)
            lr = low + 0.5 * (base_lr - low) * (math.cos(math.pi * factor) + 1)
        if t < self.warmup:
            lr *= self.warmup_ratio * ((t + 1) / self.warmup) ** 2
        return lr
