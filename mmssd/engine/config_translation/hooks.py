"""``checkpoint_config``, ``log_config``, ``evaluation.save_best``, ``custom_hooks`` ->
hooks and visualizer backends."""
from __future__ import annotations

from mmengine.config import Config

from .common import plain
from .custom_hooks import translate_custom_hooks
from .logger_hooks import logger_extra_hooks, logger_vis_backends

#: Hooks every mmssd run has: safe checkpoints, progress bars for evaluation, per-epoch
#: seeds, and a stop at the first NaN/inf loss (nor any checkpoint of diverged weights).
MMSSD_HOOKS = [dict(type='SafeCheckpointHook'), dict(type='EvalProgressBarHook'),
               dict(type='EpochSeedHook'), dict(type='CheckInvalidLossHook', interval=1)]


def translate_hooks(cfg: Config, by_epoch: bool) -> dict:
    """``default_hooks`` and ``custom_hooks`` of a training run.

    ``checkpoint_config`` (any ``type`` in it, e.g. ``'CheckpointHook'``, is replaced) ->
    :class:`~mmssd.engine.checkpoint.LatestCheckpointHook` (``by_epoch`` defaults to the
    runner's, as mmcv 1.x's IterBasedRunner does), with ``evaluation.save_best``/``rule``;
    ``custom_hooks`` follow :data:`MMSSD_HOOKS`. The logger's ``interval`` comes from
    ``log_config.interval`` through :data:`~.common.TRAIN_RENAMES`.
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
                    translate_custom_hooks(list(plain(cfg.get('custom_hooks') or []))))
    return dict(default_hooks=default_hooks, custom_hooks=custom_hooks)


def testing_hooks() -> dict:
    """``default_hooks`` and ``custom_hooks`` of a test run."""
    return dict(default_hooks=dict(timer=dict(type='IterTimerHook'),
                                   logger=dict(type='LoggerHook', interval=50)),
                custom_hooks=plain(MMSSD_HOOKS))


def visualizer_config(cfg: Config) -> dict:
    """``log_config.hooks`` -> the visualizer config: local json always, plus the backend
    of each logger hook (:mod:`.logger_hooks`: TensorBoard, W&B, MLflow)."""
    backends = [dict(type='LocalVisBackend'), *logger_vis_backends(cfg)]
    return dict(type='Visualizer', vis_backends=backends)  # named after the experiment
