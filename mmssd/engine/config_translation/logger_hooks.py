"""``log_config.hooks`` (mmcv 1.x / mmdetection 2.x logger hooks) -> mmengine visualizer
backends, plus the hooks that log what a backend alone does not (W&B evaluation images
and checkpoints, the MLflow model).

mmengine's ``LoggerHook`` hands every backend the same records: the config when the run
starts, the losses, ``lr``, ``time`` and ``data_time`` every ``log_config.interval``
iterations, and the validation metrics after each validation.

- ``TextLoggerHook``: nothing to add (mmengine always writes the text and json logs).
- ``TensorboardLoggerHook(log_dir)``: ``TensorboardVisBackend``.
- ``WandbLoggerHook(init_kwargs, commit, define_metric_cfg)``: ``mmssd.WandbVisBackend``.
- ``MMDetWandbHook(init_kwargs, log_checkpoint, log_checkpoint_metadata,
  num_eval_images, bbox_score_thr)``: the same backend and a ``WandbDetectionHook``.
- ``MlflowLoggerHook(exp_name, tags, params, log_model=True, run_name, tracking_uri)``:
  ``MLflowVisBackend`` and, with ``log_model``, an ``MlflowModelHook``.

A hook whose package is missing stops the translation with the pip command to run; an
MLflow file store that mlflow would refuse, with the variable to set
(:mod:`.mlflow_store`).
"""
from __future__ import annotations

import importlib.util
import warnings

from mmengine.config import Config

import mmssd.visualization.wandb_vis_backend  # noqa: F401  (registers mmssd.WandbVisBackend)
from mmssd.utils.config_error import ConfigError, did_you_mean

from .common import plain
from .mlflow_store import check_tracking_store

#: Keys every mmcv 1.x logger hook takes; mmengine logs all backends at
#: ``log_config.interval``, so a hook's own ``interval`` must agree or is warned about.
_COMMON_KEYS = {'type', 'interval', 'ignore_last', 'reset_flag', 'by_epoch'}
#: 2.x keys that have no effect here (accepted, warned about when set to a non-default).
_IGNORED = {'WandbLoggerHook': {'with_step', 'log_artifact', 'out_suffix'},
            'TextLoggerHook': {'interval_exp_name', 'out_dir', 'out_suffix', 'keep_local',
                               'file_client_args'}}
#: Hook type -> (its own keys, the package it needs or None).
LOGGER_HOOKS: dict[str, tuple[set[str], str | None]] = {
    'TextLoggerHook': (set(), None),
    'TensorboardLoggerHook': ({'log_dir'}, 'tensorboard'),
    'WandbLoggerHook': ({'init_kwargs', 'commit', 'define_metric_cfg'}, 'wandb'),
    'MMDetWandbHook': ({'init_kwargs', 'commit', 'define_metric_cfg', 'log_checkpoint',
                        'log_checkpoint_metadata', 'num_eval_images', 'bbox_score_thr'},
                       'wandb'),
    'MlflowLoggerHook': ({'exp_name', 'tags', 'params', 'log_model', 'run_name',
                          'tracking_uri'}, 'mlflow'),
}


def _checked_hooks(cfg: Config) -> list[dict]:
    """``log_config.hooks`` with types, keys and packages checked."""
    log_config = plain(cfg.get('log_config') or {})
    interval = log_config.get('interval', 50)
    hooks = []
    for i, hook in enumerate(log_config.get('hooks', [])):
        where = f'`log_config.hooks[{i}]`'
        kind = hook.get('type')
        if kind not in LOGGER_HOOKS:
            raise ConfigError(f"{where} has type {kind!r}{did_you_mean(str(kind), LOGGER_HOOKS)}; "
                              f'supported: {", ".join(LOGGER_HOOKS)}')
        own, package = LOGGER_HOOKS[kind]
        known = own | _COMMON_KEYS | _IGNORED.get(kind, set())
        unknown = sorted(set(hook) - known)
        if unknown:
            raise ConfigError(f'{where} ({kind}) has unknown keys {unknown}'
                              f'{did_you_mean(unknown[0], known)}; known: {sorted(known)}')
        if package is not None and importlib.util.find_spec(package) is None:
            raise ConfigError(f'{where} is {kind}, which needs the {package} package: '
                              f'pip install {package}')
        if hook.get('interval', interval) != interval:
            warnings.warn(f"{where} ({kind}) has interval={hook['interval']}, but every "
                          f'logger writes every `log_config.interval` = {interval} '
                          'iterations', stacklevel=3)
        for key in sorted(set(hook) & _IGNORED.get(kind, set())):
            warnings.warn(f'{where} ({kind}): `{key}` has no effect in mmssd', stacklevel=3)
        hooks.append(hook)
    return hooks


def _backend(hook: dict) -> dict | None:
    kind = hook['type']
    if kind == 'TensorboardLoggerHook':
        backend = dict(type='TensorboardVisBackend')
        if hook.get('log_dir'):
            backend['save_dir'] = hook['log_dir']
        return backend
    if kind in ('WandbLoggerHook', 'MMDetWandbHook'):
        backend = dict(type='mmssd.WandbVisBackend', init_kwargs=hook.get('init_kwargs'))
        for key in ('commit', 'define_metric_cfg'):
            if key in hook:
                backend[key] = hook[key]
        return backend
    if kind == 'MlflowLoggerHook':
        backend = dict(type='MLflowVisBackend')
        for key in ('exp_name', 'tags', 'params', 'run_name', 'tracking_uri'):
            if hook.get(key) is not None:
                backend[key] = hook[key]
        if 'tracking_uri' not in backend:
            # mlflow's own default, as 2.x's hook had ($MLFLOW_TRACKING_URI, else
            # sqlite:///<cwd>/mlflow.db); mmengine's, a file store in vis_data/, is refused
            # by mlflow 3 unless MLFLOW_ALLOW_FILE_STORE=true
            import mlflow
            backend['tracking_uri'] = mlflow.get_tracking_uri()
        check_tracking_store(backend['tracking_uri'],
                             from_config=hook.get('tracking_uri') is not None)
        return backend
    return None  # TextLoggerHook: mmengine's LoggerHook writes the text and json logs


def logger_vis_backends(cfg: Config) -> list[dict]:
    """The visualizer backends of ``log_config.hooks`` (besides ``LocalVisBackend``)."""
    backends = [b for b in map(_backend, _checked_hooks(cfg)) if b is not None]
    kinds = [b['type'] for b in backends]
    duplicated = sorted({k for k in kinds if kinds.count(k) > 1})
    if duplicated:
        raise ConfigError(f'`log_config.hooks` names the same logger twice ({duplicated}; '
                          'WandbLoggerHook and MMDetWandbHook are both W&B): keep one')
    return backends


def logger_extra_hooks(cfg: Config) -> list[dict]:
    """Hooks for what the backends alone do not log: ``MMDetWandbHook``'s evaluation
    images and checkpoints, ``MlflowLoggerHook``'s model (``log_model``, default True)."""
    extra = []
    for hook in _checked_hooks(cfg):
        if hook['type'] == 'MMDetWandbHook':
            extra.append(dict(type='WandbDetectionHook',
                              num_eval_images=hook.get('num_eval_images', 100),
                              bbox_score_thr=hook.get('bbox_score_thr', 0.3),
                              log_checkpoint=hook.get('log_checkpoint', False),
                              log_checkpoint_metadata=hook.get('log_checkpoint_metadata',
                                                               False)))
        elif hook['type'] == 'MlflowLoggerHook' and hook.get('log_model', True):
            extra.append(dict(type='MlflowModelHook'))
    return extra
