"""The configs of every hook a run has: ``default_hooks`` and ``custom_hooks``.

This is the one place where hooks are added to a run (the hook classes themselves live
in :mod:`mmssd.engine.hooks` and :mod:`mmssd.engine.checkpoint`): the 2.x keys
``checkpoint_config``, ``evaluation.save_best``, ``log_config.hooks`` (through
:mod:`.logger_hooks`) and ``custom_hooks`` (through :mod:`.custom_hooks`), the hooks every
mmssd run has (:data:`MMSSD_HOOKS`), the check of the loaded checkpoint against the model
(``CheckpointMatchHook``) and, for tests, the drawing of predictions (``ShowResultsHook``).
"""
from __future__ import annotations

from mmengine.config import Config

from .common import plain
from .custom_hooks import translate_custom_hooks
from .logger_hooks import logger_extra_hooks

#: Hooks every mmssd run has: safe checkpoints, progress bars for evaluation, per-epoch
#: seeds, and a stop at the first NaN/inf loss (nor any checkpoint of diverged weights).
MMSSD_HOOKS = [dict(type='SafeCheckpointHook'), dict(type='EvalProgressBarHook'),
               dict(type='EpochSeedHook'), dict(type='CheckInvalidLossHook', interval=1)]


def checkpoint_match_hook(use: str, checkpoint: str | None) -> dict:
    """The config of :class:`mmssd.engine.CheckpointMatchHook`, which refuses or names a
    checkpoint that does not fit the model.

    Args:
        use: what the checkpoint is for: ``'resume'``, ``'finetune'`` (``load_from`` in
            training) or ``'test'`` (the hook's ``mode``).
        checkpoint: the checkpoint the runner loads (None: the newest one of
            ``--auto-resume``, or none).
    """
    return dict(type='CheckpointMatchHook', mode=use, checkpoint=checkpoint)


def training_hooks(cfg: Config, by_epoch: bool, loading: dict) -> dict:
    """``default_hooks`` and ``custom_hooks`` of a training run.

    ``loading`` is the run's ``load_from`` and ``resume``
    (:func:`~.runtime.translate_checkpoint_loading`): the checkpoint loaded is checked
    against the model for resuming or for fine-tuning (:func:`checkpoint_match_hook`).

    ``checkpoint_config`` (any ``type`` in it, e.g. ``'CheckpointHook'``, is replaced) ->
    :class:`~mmssd.engine.checkpoint.LatestCheckpointHook` (``by_epoch`` defaults to the
    runner's, as mmcv 1.x's IterBasedRunner does), with ``evaluation.save_best``/``rule``;
    ``custom_hooks`` are :data:`MMSSD_HOOKS`, the logger backends' extra hooks, the
    config's ``custom_hooks`` and the checkpoint check.
    The logger's ``interval`` comes from ``log_config.interval`` through
    :data:`~.common.TRAIN_RENAMES`.
    """
    checkpoint = plain(cfg.get('checkpoint_config') or {})
    checkpoint.pop('type', None)
    checkpoint.setdefault('interval', 1)
    checkpoint.setdefault('by_epoch', by_epoch)
    evaluation = cfg.get('evaluation') or {}
    if evaluation.get('save_best'):
        checkpoint['save_best'] = evaluation['save_best']
        if evaluation.get('rule'):
            checkpoint['rule'] = evaluation['rule']
    default_hooks = dict(
        timer=dict(type='IterTimerHook'),
        logger=dict(type='LoggerHook'),
        param_scheduler=dict(type='ParamSchedulerHook'),
        checkpoint=dict(type='LatestCheckpointHook', **checkpoint),
        sampler_seed=dict(type='DistSamplerSeedHook'),
    )
    custom_hooks = (plain(MMSSD_HOOKS) + logger_extra_hooks(cfg) +
                    translate_custom_hooks(list(plain(cfg.get('custom_hooks') or []))) +
                    [checkpoint_match_hook('resume' if loading['resume'] else 'finetune',
                                           loading['load_from'])])
    return dict(default_hooks=default_hooks, custom_hooks=custom_hooks)


def testing_hooks(checkpoint: str, show: dict | None = None) -> dict:
    """``default_hooks`` and ``custom_hooks`` of a test run of ``checkpoint``.

    Args:
        checkpoint: the checkpoint tested (checked against the model).
        show: the arguments of :class:`mmssd.engine.hooks.ShowResultsHook`
            (``show_dir``, ``score_thr``, ``show_gt``) to draw every test image with its
            predictions; None draws nothing.
    """
    custom_hooks = plain(MMSSD_HOOKS)
    if show is not None:
        custom_hooks.append(dict(type='ShowResultsHook', **show))
    custom_hooks.append(checkpoint_match_hook('test', checkpoint))
    return dict(default_hooks=dict(timer=dict(type='IterTimerHook'),
                                   logger=dict(type='LoggerHook', interval=50)),
                custom_hooks=custom_hooks)
