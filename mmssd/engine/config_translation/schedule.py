"""``runner``, ``lr_config``, ``momentum_config``, ``evaluation.interval`` -> loops and
parameter schedulers.

The training length (epochs or iterations) is read once, by :func:`training_length`;
:func:`~mmssd.engine.config_translation.translate_train_config` passes it to every
function here that needs it.
"""
from __future__ import annotations

from typing import NamedTuple

from mmengine.config import Config

from mmssd.utils.config_error import ConfigError

from .common import plain


class TrainingLength(NamedTuple):
    """How long training runs: ``length`` epochs when ``by_epoch``, else iterations."""

    by_epoch: bool
    length: int


def training_length(cfg: Config) -> TrainingLength:
    """The training length from ``runner`` (or the legacy ``total_epochs``)."""
    runner = plain(cfg.get('runner') or {})
    runner_type = runner.get('type', 'EpochBasedRunner')
    if runner_type == 'EpochBasedRunner':
        epochs = runner.get('max_epochs', cfg.get('total_epochs'))
        if epochs is None:
            raise ConfigError('`runner.max_epochs` is missing for EpochBasedRunner')
        return TrainingLength(True, int(epochs))
    if runner_type == 'IterBasedRunner':
        if 'max_iters' not in runner:
            raise ConfigError('`runner.max_iters` is missing for IterBasedRunner')
        return TrainingLength(False, int(runner['max_iters']))
    raise ConfigError(f"`runner.type` is '{runner_type}'; expected 'EpochBasedRunner' "
                      "or 'IterBasedRunner'")


def _warmup_scheduler(lr_config: dict) -> dict | None:
    """The warmup scheduler config of ``lr_config.warmup*`` (popped), or None."""
    warmup = lr_config.pop('warmup', None)
    iters = lr_config.pop('warmup_iters', 0)
    ratio = lr_config.pop('warmup_ratio', 0.1)
    by_epoch = lr_config.pop('warmup_by_epoch', False)
    if warmup is None or iters == 0:
        return None
    # mmengine's warmup schedulers reach their end value at step `end - 1`; mmcv 1.x's
    # reach it at `warmup_iters`, hence the +1.
    common = dict(by_epoch=by_epoch, begin=0, end=iters + 1)
    if warmup == 'linear':
        return dict(type='LinearLR', start_factor=ratio, end_factor=1.0, **common)
    if warmup == 'constant':
        return dict(type='ConstantLR', factor=ratio, **common)
    if warmup == 'exp':
        return dict(type='mmssd.ExpWarmupLR', ratio=ratio, **common)
    raise ConfigError(f"`lr_config.warmup` is '{warmup}'; supported: 'linear', 'constant', "
                      "'exp'")


def _min_lr(lr_config: dict) -> dict:
    if 'min_lr_ratio' in lr_config:
        return dict(eta_min_ratio=lr_config.pop('min_lr_ratio'))
    return dict(eta_min=lr_config.pop('min_lr', 0.0))


def _whole_run_span(lr_by_epoch: bool, length: TrainingLength) -> dict:
    """Span of a policy that runs over the whole training (cosine, poly, one-cycle).

    With an epoch-based runner it is counted in epochs; ``lr_config.by_epoch=False``
    (update every iteration, as mmcv 1.x does then) converts it to iterations once the
    epoch length is known.
    """
    return dict(by_epoch=length.by_epoch, begin=0, end=length.length,
                convert_to_iter_based=length.by_epoch and not lr_by_epoch)


def _policy_scheduler(lr_config: dict, lr_by_epoch: bool,
                      length: TrainingLength) -> dict | None:
    """The scheduler config of ``lr_config.policy``; mmcv 1.x's formula at every step.

    ``step`` milestones and the ``Exp`` decay count epochs when the learning rate is
    updated per epoch, iterations otherwise.
    """
    policy = lr_config.pop('policy')
    per_step = dict(by_epoch=lr_by_epoch and length.by_epoch, begin=0)
    whole_run = _whole_run_span(lr_by_epoch, length)
    if policy == 'fixed':
        return None
    if policy == 'step':
        step = lr_config.pop('step')
        gamma = lr_config.pop('gamma', 0.1)
        if isinstance(step, int):
            return dict(type='StepLR', step_size=step, gamma=gamma, **per_step)
        return dict(type='MultiStepLR', milestones=list(step), gamma=gamma, **per_step)
    if policy == 'Exp':
        return dict(type='ExponentialLR', gamma=lr_config.pop('gamma'), **per_step)
    if policy == 'CosineAnnealing':
        return dict(type='mmssd.MMCVCosineAnnealingLR', **_min_lr(lr_config), **whole_run)
    if policy == 'CosineRestart':
        return _cosine_restart_scheduler(lr_config, per_step, length)
    if policy == 'Poly':
        return dict(type='mmssd.MMCVPolyLR', power=lr_config.pop('power', 1.0),
                    eta_min=lr_config.pop('min_lr', 0.0), **whole_run)
    if policy == 'OneCycle':
        return _one_cycle_scheduler(lr_config, whole_run)
    raise ConfigError(f"`lr_config.policy` is '{policy}'; supported: step, CosineAnnealing, "
                      'CosineRestart, Poly, Exp, OneCycle, YOLOX, fixed')


def _cosine_restart_scheduler(lr_config: dict, per_step: dict,
                              length: TrainingLength) -> dict:
    """mmcv 1.x ``CosineRestart``: ``periods`` count epochs when the learning rate is
    updated per epoch, iterations otherwise (as the ``step`` milestones do).

    mmcv raises once training outlasts ``sum(periods)``; the error comes here, when the
    run's length in the same unit is known.
    """
    if 'periods' not in lr_config:
        raise ConfigError("`lr_config.periods` is required for policy 'CosineRestart'")
    periods = lr_config.pop('periods')
    weights = lr_config.pop('restart_weights', [1])
    if not isinstance(periods, (list, tuple)) or len(periods) != len(weights):
        raise ConfigError(f'`lr_config.periods` {periods} and `lr_config.restart_weights` '
                          f'{weights} must be lists of the same length')
    if ('min_lr' in lr_config) == ('min_lr_ratio' in lr_config):
        raise ConfigError("policy 'CosineRestart' needs exactly one of `lr_config.min_lr` "
                          'and `lr_config.min_lr_ratio`')
    counts_run_unit = per_step['by_epoch'] or not length.by_epoch
    if counts_run_unit and sum(periods) < length.length:
        unit = 'epochs' if length.by_epoch else 'iterations'
        raise ConfigError(f'`lr_config.periods` {list(periods)} cover {sum(periods)} {unit}; '
                          f'training runs {length.length} {unit} (mmcv 1.x stops with '
                          'an error there): lengthen the periods')
    return dict(type='mmssd.MMCVCosineRestartLR', periods=list(periods),
                restart_weights=list(weights), **_min_lr(lr_config), **per_step)


def _one_cycle_scheduler(lr_config: dict, whole_run: dict) -> dict:
    """mmcv 1.x ``OneCycle`` (updated every iteration) -> mmengine ``OneCycleLR`` config.

    ``total_steps`` defaults to the whole run; an explicit one counts iterations.
    """
    if 'max_lr' not in lr_config:
        raise ConfigError("`lr_config.max_lr` is required for policy 'OneCycle'")
    scheduler = dict(
        type='OneCycleLR', eta_max=lr_config.pop('max_lr'),
        pct_start=lr_config.pop('pct_start', 0.3),
        anneal_strategy=lr_config.pop('anneal_strategy', 'cos'),
        div_factor=lr_config.pop('div_factor', 25.0),
        final_div_factor=lr_config.pop('final_div_factor', 1e4),
        three_phase=lr_config.pop('three_phase', False))
    total = lr_config.pop('total_steps', None)
    if total is not None:
        return dict(scheduler, total_steps=int(total), by_epoch=False, begin=0, end=int(total))
    if whole_run['by_epoch']:  # per iteration, over all epochs
        whole_run = dict(whole_run, convert_to_iter_based=True)
    return dict(scheduler, total_steps=whole_run['end'], **whole_run)


def _yolox_scheduler(lr_config: dict, length: TrainingLength) -> dict:
    """mmdetection 2.x ``policy='YOLOX'`` (its warm-up included) -> ``mmssd.YOLOXLR``,
    updated every iteration of an epoch-based run."""
    lr_config.pop('policy')
    if not length.by_epoch:
        raise ConfigError("`lr_config.policy='YOLOX'` counts its last epochs in epochs; use "
                          "runner=dict(type='EpochBasedRunner', max_epochs=...)")
    if lr_config.pop('by_epoch', False):
        raise ConfigError("`lr_config.by_epoch` must be False for policy 'YOLOX' (mmdetection "
                          'updates it every iteration)')
    warmup = lr_config.pop('warmup', 'exp')
    if warmup != 'exp':
        raise ConfigError(f"`lr_config.warmup` is {warmup!r}; policy 'YOLOX' has its own "
                          "quadratic warm-up, written warmup='exp'")
    if 'num_last_epochs' not in lr_config:
        raise ConfigError("`lr_config.num_last_epochs` is required for policy 'YOLOX'")
    scheduler = dict(
        type='mmssd.YOLOXLR', num_last_epochs=lr_config.pop('num_last_epochs'),
        warmup_iters=lr_config.pop('warmup_iters', 5),
        warmup_by_epoch=lr_config.pop('warmup_by_epoch', True),
        warmup_ratio=lr_config.pop('warmup_ratio', 1.0), **_min_lr(lr_config),
        by_epoch=True, begin=0, end=length.length, convert_to_iter_based=True)
    if lr_config:
        raise ConfigError(f"unsupported keys in `lr_config` (policy 'YOLOX'): "
                          f'{sorted(lr_config)}; known: warmup, warmup_iters, warmup_ratio, '
                          'warmup_by_epoch, by_epoch, num_last_epochs, min_lr_ratio, min_lr')
    return scheduler


def translate_lr_config(cfg: Config, length: TrainingLength | None = None) -> list[dict]:
    """``lr_config`` -> a list of mmengine parameter scheduler configs.

    mmengine chains schedulers multiplicatively, so a warmup scheduler over the first
    ``warmup_iters`` iterations times the policy scheduler reproduces mmcv 1.x, where the
    warmup factor scales the policy's learning rate. ``length`` defaults to
    :func:`training_length` of ``cfg``.
    """
    lr_config = plain(cfg.get('lr_config'))
    if not lr_config:
        return []
    length = length or training_length(cfg)
    if lr_config.get('policy') == 'YOLOX':
        return [_yolox_scheduler(lr_config, length)]
    lr_by_epoch = lr_config.pop('by_epoch', True)
    schedulers = [_warmup_scheduler(lr_config),
                  _policy_scheduler(lr_config, lr_by_epoch, length)]
    if lr_config:
        raise ConfigError(f'unsupported keys in `lr_config`: {sorted(lr_config)}')
    return [s for s in schedulers if s is not None]


def translate_momentum_config(cfg: Config,
                              length: TrainingLength | None = None) -> list[dict]:
    """``momentum_config`` (policies ``step`` and ``CosineAnnealing``) -> momentum
    scheduler configs. ``length`` defaults to :func:`training_length` of ``cfg``."""
    momentum = plain(cfg.get('momentum_config'))
    if not momentum:
        return []
    length = length or training_length(cfg)
    by_epoch = momentum.pop('by_epoch', True) and length.by_epoch
    policy = momentum.pop('policy', None)
    if policy == 'step':
        step = momentum.pop('step')
        gamma = momentum.pop('gamma', 0.5)
        scheduler = (dict(type='StepMomentum', step_size=step, gamma=gamma) if
                     isinstance(step, int) else
                     dict(type='MultiStepMomentum', milestones=list(step), gamma=gamma))
        scheduler.update(by_epoch=by_epoch, begin=0)
    elif policy == 'CosineAnnealing':
        low = ({'eta_min_ratio': momentum.pop('min_momentum_ratio')}
               if 'min_momentum_ratio' in momentum
               else {'eta_min': momentum.pop('min_momentum', 0.0)})
        scheduler = dict(type='CosineAnnealingMomentum', T_max=length.length, begin=0,
                         end=length.length, by_epoch=length.by_epoch,
                         convert_to_iter_based=length.by_epoch and not by_epoch, **low)
    else:
        raise ConfigError(f"`momentum_config.policy` is '{policy}'; supported: step, "
                          'CosineAnnealing')
    if momentum:
        raise ConfigError(f'unsupported keys in `momentum_config`: {sorted(momentum)}')
    return [scheduler]


def translate_loops(cfg: Config, with_val: bool, length: TrainingLength | None = None) -> dict:
    """``runner`` + ``evaluation.interval``/``start`` -> train/val/test loop configs.
    ``length`` defaults to :func:`training_length` of ``cfg``."""
    length = length or training_length(cfg)
    evaluation = plain(cfg.get('evaluation') or {})
    interval = evaluation.get('interval', 1)
    if length.by_epoch:
        train = dict(type='EpochBasedTrainLoop', max_epochs=length.length,
                     val_interval=interval, val_begin=evaluation.get('start') or 1)
        if evaluation.get('dynamic_intervals'):  # [(from epoch, interval)], 2.x's meaning
            train['dynamic_intervals'] = [tuple(d) for d in evaluation['dynamic_intervals']]
    else:
        train = dict(type='IterBasedTrainLoop', max_iters=length.length, val_interval=interval)
    out = {'train_cfg': train}
    if with_val:
        out['val_cfg'] = dict()
    out['test_cfg'] = dict()
    return out
