"""Every 2.x ``lr_config`` gives, iteration by iteration, mmcv 1.x's learning rate.

Each case trains a one-parameter model with a real mmengine ``Runner`` (so the
schedulers are built and stepped exactly as in training, including the conversion of
epoch spans to iterations) and compares the learning rate of every iteration with
mmcv 1.x's closed-form formulas, written out below.
"""
from __future__ import annotations

import math

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmssd.engine.config_translation import ConfigError
from mmssd.engine.config_translation.schedule import translate_loops, translate_lr_config

BASE_LR = 0.1
EPOCHS, ITERS_PER_EPOCH = 4, 5


class OneWeight(BaseModel):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, inputs, data_samples=None, mode='loss'):
        return {'loss': (self.w * 0).sum()}


class RecordLR(Hook):
    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])


def run_schedule(tmp_path, lr_config: dict, runner: dict) -> list[float]:
    """Learning rate of each training iteration under ``lr_config``."""
    cfg = Config(dict(lr_config=lr_config, runner=runner))
    train_cfg = translate_loops(cfg, with_val=False)['train_cfg']  # the loop training uses
    recorder = RecordLR()
    loader = torch.utils.data.DataLoader([{'inputs': i} for i in range(ITERS_PER_EPOCH)],
                                         batch_size=1)
    Runner(model=OneWeight(), work_dir=str(tmp_path), train_dataloader=loader,
           train_cfg=train_cfg,
           optim_wrapper=dict(optimizer=dict(type='SGD', lr=BASE_LR, momentum=0.9)),
           param_scheduler=translate_lr_config(cfg) or None, custom_hooks=[recorder],
           default_hooks=dict(checkpoint=None, logger=None), default_scope='mmssd',
           log_level='ERROR').train()
    return recorder.lrs


# ------------------------------------------------------------------ mmcv 1.x formulas
def annealing_cos(start: float, end: float, factor: float, weight: float = 1) -> float:
    return end + 0.5 * weight * (start - end) * (math.cos(math.pi * factor) + 1)


def mmcv_cosine_restart_lr(policy: dict, progress: int) -> float:
    """``CosineRestartLrUpdaterHook.get_lr``: find the period by the cumulative sums."""
    target = (BASE_LR * policy['min_lr_ratio'] if 'min_lr_ratio' in policy
              else policy['min_lr'])
    periods, weights = policy['periods'], policy.get('restart_weights', [1])
    cumulative = [sum(periods[:i + 1]) for i in range(len(periods))]
    idx = next(i for i, end in enumerate(cumulative) if progress < end)
    nearest_restart = 0 if idx == 0 else cumulative[idx - 1]
    alpha = min((progress - nearest_restart) / periods[idx], 1)
    return annealing_cos(BASE_LR, target, alpha, weights[idx])


def mmcv_regular_lr(policy: dict, progress: int, max_progress: int) -> float:
    """``LrUpdaterHook.get_lr`` of mmcv 1.x's policies."""
    name = policy['policy']
    if name == 'fixed':
        return BASE_LR
    if name == 'step':
        step = policy['step']
        if isinstance(step, int):
            return BASE_LR * policy.get('gamma', 0.1) ** (progress // step)
        return BASE_LR * policy.get('gamma', 0.1) ** sum(progress >= s for s in step)
    if name == 'Exp':
        return BASE_LR * policy['gamma'] ** progress
    if name == 'Poly':
        min_lr = policy.get('min_lr', 0.0)
        coeff = (1 - progress / max_progress) ** policy.get('power', 1.0)
        return (BASE_LR - min_lr) * coeff + min_lr
    if name == 'CosineAnnealing':
        target = (BASE_LR * policy['min_lr_ratio'] if 'min_lr_ratio' in policy
                  else policy.get('min_lr', 0.0))
        return annealing_cos(BASE_LR, target, progress / max_progress)
    if name == 'CosineRestart':
        return mmcv_cosine_restart_lr(policy, progress)
    raise AssertionError(name)


def mmcv_one_cycle_lr(policy: dict, it: int, total: int) -> float:
    """``OneCycleLrUpdaterHook.get_lr`` (two phases, cosine annealing)."""
    initial = policy['max_lr'] / policy.get('div_factor', 25.0)
    minimum = initial / policy.get('final_div_factor', 1e4)
    phases = [(float(policy.get('pct_start', 0.3) * total) - 1, initial, policy['max_lr']),
              (total - 1, policy['max_lr'], minimum)]
    start_iter = 0
    for i, (end_iter, start_lr, end_lr) in enumerate(phases):
        if it <= end_iter or i == len(phases) - 1:
            return annealing_cos(start_lr, end_lr, (it - start_iter) / (end_iter - start_iter))
        start_iter = end_iter
    raise AssertionError


def mmcv_warmup_factor(policy: dict, it: int) -> float:
    kind, iters, ratio = policy.get('warmup'), policy.get('warmup_iters', 0), \
        policy.get('warmup_ratio', 0.1)
    if kind is None or it >= iters:
        return 1.0
    if kind == 'constant':
        return ratio
    if kind == 'linear':
        return 1 - (1 - it / iters) * (1 - ratio)
    if kind == 'exp':
        return ratio ** (1 - it / iters)
    raise AssertionError(kind)


def mmcv_lrs(policy: dict, runner: dict) -> list[float]:
    by_epoch_runner = runner['type'] == 'EpochBasedRunner'
    total = runner['max_epochs'] * ITERS_PER_EPOCH if by_epoch_runner else runner['max_iters']
    by_epoch = policy.get('by_epoch', True) and by_epoch_runner
    lrs = []
    for it in range(total):
        if policy['policy'] == 'OneCycle':
            lrs.append(mmcv_one_cycle_lr(policy, it, total))
            continue
        progress, max_progress = ((it // ITERS_PER_EPOCH, runner['max_epochs']) if by_epoch
                                  else (it, total))
        regular = mmcv_regular_lr(policy, progress, max_progress)
        lrs.append(regular * mmcv_warmup_factor(policy, it))
    return lrs


EPOCH_RUNNER = dict(type='EpochBasedRunner', max_epochs=EPOCHS)
ITER_RUNNER = dict(type='IterBasedRunner', max_iters=EPOCHS * ITERS_PER_EPOCH)
WARMUPS = [dict(), dict(warmup='linear', warmup_iters=7, warmup_ratio=0.01),
           dict(warmup='constant', warmup_iters=3, warmup_ratio=0.25),
           dict(warmup='exp', warmup_iters=6, warmup_ratio=0.001)]
POLICIES = [
    dict(policy='step', step=[2, 3]), dict(policy='step', step=1, gamma=0.5),
    dict(policy='step', step=[8, 13], by_epoch=False),
    dict(policy='Exp', gamma=0.8), dict(policy='Exp', gamma=0.97, by_epoch=False),
    dict(policy='Poly', power=2.0, min_lr=1e-3), dict(policy='Poly', power=0.9, by_epoch=False),
    dict(policy='CosineAnnealing', min_lr=1e-3),
    dict(policy='CosineAnnealing', min_lr_ratio=0.01, by_epoch=False),
    dict(policy='fixed'),
]


def check_epoch_runner(tmp_path, lr_config: dict) -> None:
    expected = mmcv_lrs(lr_config, EPOCH_RUNNER)
    assert run_schedule(tmp_path, lr_config, EPOCH_RUNNER) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize('warmup', WARMUPS[:2], ids=lambda w: w.get('warmup', 'none'))
@pytest.mark.parametrize('policy', POLICIES, ids=lambda p: '-'.join(map(str, p.values())))
def test_epoch_runner_learning_rates_match_mmcv(tmp_path, policy, warmup):
    check_epoch_runner(tmp_path, dict(policy, **warmup))


@pytest.mark.parametrize('warmup', WARMUPS[2:], ids=lambda w: w['warmup'])
@pytest.mark.parametrize('policy', [POLICIES[0], POLICIES[6], POLICIES[8]],
                         ids=lambda p: p['policy'])
def test_constant_and_exp_warmup_match_mmcv(tmp_path, policy, warmup):
    check_epoch_runner(tmp_path, dict(policy, **warmup))


@pytest.mark.parametrize('policy', [p for p in POLICIES if p.get('by_epoch') is False] +
                         [dict(policy='fixed')], ids=lambda p: p['policy'])
def test_iter_runner_learning_rates_match_mmcv(tmp_path, policy):
    lr_config = dict(policy, warmup='linear', warmup_iters=4, warmup_ratio=0.1)
    expected = mmcv_lrs(lr_config, ITER_RUNNER)
    assert run_schedule(tmp_path, lr_config, ITER_RUNNER) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize('runner', [EPOCH_RUNNER, ITER_RUNNER], ids=['epoch', 'iter'])
def test_one_cycle_matches_mmcv(tmp_path, runner):
    lr_config = dict(policy='OneCycle', max_lr=0.5, pct_start=0.25, final_div_factor=100)
    expected = mmcv_lrs(lr_config, runner)
    assert run_schedule(tmp_path, lr_config, runner) == pytest.approx(expected, rel=1e-6)


def test_unknown_policy_and_warmup_name_the_key():
    with pytest.raises(ConfigError, match="`lr_config.policy` is 'Cosine'.*CosineAnnealing"):
        translate_lr_config(Config(dict(lr_config=dict(policy='Cosine'), runner=EPOCH_RUNNER)))
    with pytest.raises(ConfigError, match="`lr_config.warmup` is 'lin'"):
        translate_lr_config(Config(dict(lr_config=dict(policy='fixed', warmup='lin',
                                                       warmup_iters=3),
                                        runner=EPOCH_RUNNER)))


COSINE_RESTARTS = [
    dict(policy='CosineRestart', periods=[1, 3], restart_weights=[1, 0.5], min_lr=1e-3),
    dict(policy='CosineRestart', periods=[4], min_lr_ratio=0.01),
    dict(policy='CosineRestart', periods=[6, 8, 7], restart_weights=[1, 0.7, 0.4],
         min_lr_ratio=0.05, by_epoch=False),
]


@pytest.mark.parametrize('warmup', WARMUPS[:2], ids=lambda w: w.get('warmup', 'none'))
@pytest.mark.parametrize('policy', COSINE_RESTARTS,
                         ids=['epochs', 'one-period', 'iterations'])
def test_cosine_restart_matches_mmcv(tmp_path, policy, warmup):
    """The 2022 winning team's schedule: restarts with decaying weights, with warm-up."""
    check_epoch_runner(tmp_path, dict(policy, **warmup))


@pytest.mark.parametrize('lr_config, message', [
    (dict(periods=[1, 2], restart_weights=[1, 1], min_lr=0),
     r'periods` \[1, 2\] cover 3 epochs; training runs 4'),
    (dict(periods=[2, 2], restart_weights=[1], min_lr=0), 'same length'),
    (dict(periods=[4], min_lr=0, min_lr_ratio=0.1), 'exactly one of'),
    (dict(periods=[4]), 'exactly one of'),
    (dict(min_lr=0), '`lr_config.periods` is required'),
])
def test_cosine_restart_refuses_what_mmcv_refuses(lr_config, message):
    cfg = Config(dict(lr_config=dict(policy='CosineRestart', **lr_config), runner=EPOCH_RUNNER))
    with pytest.raises(ConfigError, match=message):
        translate_lr_config(cfg)


def test_cosine_restart_refuses_a_period_at_zero():
    """A weight of 0 with a minimum of 0 holds the lr at 0, which no ratio undoes."""
    from mmssd.engine.mmcv_lr_schedulers import MMCVCosineRestartLR
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=BASE_LR)
    with pytest.raises(ValueError, match=r'restart_weights must be > 0.*\[1, 0\]'):
        MMCVCosineRestartLR(optimizer, periods=[2, 2], restart_weights=[1, 0], eta_min=0.0)
