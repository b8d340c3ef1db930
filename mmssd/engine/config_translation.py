"""The one place where mmdetection 2.x runtime keys become mmengine ``Runner`` arguments.

A 2.x config (``data``, ``optimizer``, ``optimizer_config``, ``lr_config``, ``runner``,
``checkpoint_config``, ``log_config``, ``evaluation``, ``custom_hooks``, ``load_from``,
``resume_from``, ...) goes in; a dict of keyword arguments for
:class:`mmengine.runner.Runner` comes out. Each ``_translate_*`` function handles one
2.x key; ``docs/config.md`` documents the mapping.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any

import torch
from mmengine.config import Config


class ConfigError(ValueError):
    """A config value that mmssd cannot translate; the message names the key."""


#: Hooks every mmssd run has: safe checkpoints and progress bars for evaluation.
MMSSD_HOOKS = [dict(type='SafeCheckpointHook'), dict(type='EvalProgressBarHook')]

#: Metric used for each dataset type when ``evaluation`` names no metric class.
METRIC_FOR_DATASET = {'CocoDataset': 'CocoMetric', 'VOCDataset': 'VOCMetric'}


def _plain(value: Any) -> Any:
    """A deep copy of ``value`` with every ``ConfigDict`` turned into a ``dict``."""
    if isinstance(value, dict):  # ConfigDict included
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return copy.deepcopy(value)


def _require(cfg: Config, key: str) -> Any:
    if cfg.get(key) is None:
        raise ConfigError(f'config key `{key}` is missing; it is required for training')
    return cfg[key]


# --------------------------------------------------------------------------- model
def translate_model(cfg: Config) -> dict:
    """``model`` with the legacy top-level ``train_cfg``/``test_cfg`` moved inside it."""
    model = _plain(_require(cfg, 'model'))
    for key in ('train_cfg', 'test_cfg'):
        legacy = cfg.get(key)
        # mmengine uses top-level train_cfg/test_cfg for loops, so only a dict that
        # looks like a model cfg (no loop `type`) is the 2.x legacy form.
        if isinstance(legacy, dict) and 'type' not in legacy and 'max_epochs' not in legacy:
            warnings.warn(f'top-level `{key}` is deprecated; put it in `model`', stacklevel=2)
            model.setdefault(key, _plain(legacy))
    return model


# --------------------------------------------------------------------------- data
def _dataloader(data: dict, split: str, shuffle: bool, default_batch: int) -> dict:
    """One mmengine dataloader dict from the 2.x ``data`` dict."""
    if split not in data:
        raise ConfigError(f'config key `data.{split}` is missing')
    dataset = _plain(data[split])
    if split != 'train':
        dataset['test_mode'] = True  # as mmdetection 2.x builds val/test datasets
    overrides = _plain(data.get(f'{split}_dataloader', {}))
    batch = overrides.pop('samples_per_gpu', dataset.pop('samples_per_gpu', default_batch))
    workers = overrides.pop('workers_per_gpu', data.get('workers_per_gpu', 2))
    loader = dict(
        batch_size=batch,
        num_workers=workers,
        persistent_workers=workers > 0,
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
        # mmengine looks collate functions up in its root registry: name the scope
        collate_fn=dict(type='mmssd.detection_collate'),
        dataset=dataset,
    )
    loader.update(overrides)
    return loader


def translate_data(cfg: Config, with_val: bool) -> dict:
    """``data`` -> ``train_dataloader`` / ``val_dataloader`` / ``test_dataloader``."""
    data = _plain(_require(cfg, 'data'))
    if 'samples_per_gpu' not in data:
        raise ConfigError('config key `data.samples_per_gpu` is missing')
    out = {'train_dataloader': _dataloader(data, 'train', True, data['samples_per_gpu'])}
    if with_val:
        out['val_dataloader'] = _dataloader(data, 'val', False, 1)
    if 'test' in data:
        out['test_dataloader'] = _dataloader(data, 'test', False, 1)
    return out


# --------------------------------------------------------------------------- optimizer
def translate_optimizer(cfg: Config) -> dict:
    """``optimizer`` + ``optimizer_config`` (+ ``fp16``) -> ``optim_wrapper``."""
    optimizer = _plain(_require(cfg, 'optimizer'))
    wrapper: dict = dict(type='OptimWrapper')
    paramwise = optimizer.pop('paramwise_cfg', None)
    if paramwise:
        wrapper['paramwise_cfg'] = paramwise
    wrapper['optimizer'] = optimizer
    opt_cfg = _plain(cfg.get('optimizer_config') or {})
    opt_cfg.pop('type', None)
    grad_clip = opt_cfg.pop('grad_clip', None)
    if grad_clip:
        wrapper['clip_grad'] = grad_clip
    cumulative = opt_cfg.pop('cumulative_iters', 1)
    if cumulative > 1:
        wrapper['accumulative_counts'] = cumulative
    fp16 = cfg.get('fp16')
    if fp16:
        wrapper['type'] = 'AmpOptimWrapper'
        wrapper['loss_scale'] = fp16.get('loss_scale', 'dynamic')
    if opt_cfg:
        raise ConfigError(f'unsupported keys in `optimizer_config`: {sorted(opt_cfg)}; '
                          'known keys: grad_clip, cumulative_iters')
    return wrapper


# --------------------------------------------------------------------------- schedule
def _training_length(cfg: Config) -> tuple[bool, int]:
    """``(by_epoch, length)`` from ``runner`` (or the legacy ``total_epochs``)."""
    runner = _plain(cfg.get('runner') or {})
    runner_type = runner.get('type', 'EpochBasedRunner')
    if runner_type == 'EpochBasedRunner':
        epochs = runner.get('max_epochs', cfg.get('total_epochs'))
        if epochs is None:
            raise ConfigError('`runner.max_epochs` is missing for EpochBasedRunner')
        return True, int(epochs)
    if runner_type == 'IterBasedRunner':
        if 'max_iters' not in runner:
            raise ConfigError('`runner.max_iters` is missing for IterBasedRunner')
        return False, int(runner['max_iters'])
    raise ConfigError(f"`runner.type` is '{runner_type}'; expected 'EpochBasedRunner' "
                      "or 'IterBasedRunner'")


def _warmup_scheduler(lr_config: dict) -> dict | None:
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
    raise ConfigError(f"`lr_config.warmup` is '{warmup}'; supported: 'linear', 'constant'")


def _min_lr(lr_config: dict) -> dict:
    if 'min_lr_ratio' in lr_config:
        return dict(eta_min_ratio=lr_config.pop('min_lr_ratio'))
    return dict(eta_min=lr_config.pop('min_lr', 0.0))


def _policy_scheduler(lr_config: dict, by_epoch: bool, length: int) -> dict | None:
    policy = lr_config.pop('policy')
    span = dict(by_epoch=by_epoch, begin=0, end=length)
    if policy == 'fixed':
        return None
    if policy == 'step':
        step = lr_config.pop('step')
        gamma = lr_config.pop('gamma', 0.1)
        if isinstance(step, int):
            return dict(type='StepLR', step_size=step, gamma=gamma, **span)
        return dict(type='MultiStepLR', milestones=list(step), gamma=gamma, **span)
    if policy == 'CosineAnnealing':
        return dict(type='CosineAnnealingLR', T_max=length, **_min_lr(lr_config), **span)
    if policy == 'Poly':
        return dict(type='PolyLR', power=lr_config.pop('power', 1.0),
                    eta_min=lr_config.pop('min_lr', 0.0), **span)
    if policy == 'Exp':
        return dict(type='ExponentialLR', gamma=lr_config.pop('gamma'), **span)
    raise ConfigError(f"`lr_config.policy` is '{policy}'; supported: step, CosineAnnealing, "
                      'Poly, Exp, fixed')


def translate_lr_config(cfg: Config) -> list[dict]:
    """``lr_config`` -> a list of mmengine parameter schedulers.

    mmengine chains schedulers multiplicatively, so a warmup scheduler over the first
    ``warmup_iters`` iterations times the policy scheduler reproduces mmcv 1.x, where the
    warmup factor scales the policy's learning rate.
    """
    lr_config = _plain(cfg.get('lr_config'))
    if not lr_config:
        return []
    runner_by_epoch, length = _training_length(cfg)
    by_epoch = lr_config.pop('by_epoch', True) and runner_by_epoch
    schedulers = [_warmup_scheduler(lr_config), _policy_scheduler(lr_config, by_epoch, length)]
    if by_epoch and schedulers[1] is not None:
        schedulers[1]['convert_to_iter_based'] = lr_config.pop('convert_to_iter_based', False)
    if lr_config:
        raise ConfigError(f'unsupported keys in `lr_config`: {sorted(lr_config)}')
    return [s for s in schedulers if s is not None]


def translate_loops(cfg: Config, with_val: bool) -> dict:
    """``runner`` + ``evaluation.interval``/``start`` -> train/val/test loop configs."""
    by_epoch, length = _training_length(cfg)
    evaluation = _plain(cfg.get('evaluation') or {})
    interval = evaluation.get('interval', 1)
    if by_epoch:
        train = dict(type='EpochBasedTrainLoop', max_epochs=length, val_interval=interval,
                     val_begin=evaluation.get('start') or 1)
    else:
        train = dict(type='IterBasedTrainLoop', max_iters=length, val_interval=interval)
    out = {'train_cfg': train}
    if with_val:
        out['val_cfg'] = dict()
    out['test_cfg'] = dict()
    return out


# --------------------------------------------------------------------------- evaluation
_EVALUATION_RUNTIME_KEYS = ('interval', 'start', 'save_best', 'rule', 'by_epoch', 'gpu_collect',
                            'tmpdir', 'efficient_test', 'greater_keys', 'less_keys')


def build_evaluator(cfg: Config, dataset_cfg: dict, metric_options: dict | None = None) -> dict:
    """``evaluation`` (+ ``--eval-options``) -> an mmengine metric config for a dataset."""
    evaluation = _plain(cfg.get('evaluation') or {})
    metric_args = {k: v for k, v in evaluation.items() if k not in _EVALUATION_RUNTIME_KEYS}
    metric_args.update(metric_options or {})
    dataset_type = dataset_cfg.get('type', 'CocoDataset')
    metric_type = metric_args.pop('type', METRIC_FOR_DATASET.get(dataset_type, 'CocoMetric'))
    return dict(type=metric_type, **metric_args)


# --------------------------------------------------------------------------- hooks
def translate_hooks(cfg: Config) -> dict:
    """``checkpoint_config``, ``log_config``, ``evaluation.save_best``, ``custom_hooks``."""
    checkpoint = _plain(cfg.get('checkpoint_config') or {})
    checkpoint.pop('type', None)
    checkpoint.setdefault('interval', 1)
    by_epoch, _ = _training_length(cfg)
    checkpoint.setdefault('by_epoch', by_epoch)  # as mmcv 1.x's IterBasedRunner defaults
    evaluation = cfg.get('evaluation') or {}
    if evaluation.get('save_best'):
        checkpoint['save_best'] = evaluation['save_best']
        if evaluation.get('rule'):
            checkpoint['rule'] = evaluation['rule']
    log_config = _plain(cfg.get('log_config') or {})
    default_hooks = dict(
        timer=dict(type='IterTimerHook'),
        logger=dict(type='LoggerHook', interval=log_config.get('interval', 50)),
        param_scheduler=dict(type='ParamSchedulerHook'),
        checkpoint=dict(type='CheckpointHook', **checkpoint),
        sampler_seed=dict(type='DistSamplerSeedHook'),
    )
    custom_hooks = _plain(MMSSD_HOOKS) + list(_plain(cfg.get('custom_hooks') or []))
    return dict(default_hooks=default_hooks, custom_hooks=custom_hooks)


_LOGGER_BACKENDS = {
    'TextLoggerHook': None,  # mmengine's LoggerHook always writes the text and json logs
    'TensorboardLoggerHook': dict(type='TensorboardVisBackend'),
}


def translate_visualizer(cfg: Config) -> dict:
    """``log_config.hooks`` -> visualizer backends (local json always, TensorBoard on demand)."""
    backends = [dict(type='LocalVisBackend')]
    for hook in (cfg.get('log_config') or {}).get('hooks', []):
        if hook['type'] not in _LOGGER_BACKENDS:
            raise ConfigError(f"`log_config.hooks` has type '{hook['type']}'; supported: "
                              f'{", ".join(_LOGGER_BACKENDS)}')
        if _LOGGER_BACKENDS[hook['type']] is not None:
            backends.append(_LOGGER_BACKENDS[hook['type']])
    return dict(type='Visualizer', vis_backends=backends)  # named after the experiment


# --------------------------------------------------------------------------- environment
def translate_environment(cfg: Config) -> dict:
    """``dist_params``, ``opencv_num_threads``, ``mp_start_method``, ``cudnn_benchmark``."""
    dist = _plain(cfg.get('dist_params') or {}) or dict(backend='nccl')
    if dist.get('backend') == 'nccl' and not torch.cuda.is_available():
        dist['backend'] = 'gloo'  # nccl needs GPUs; gloo runs the same configs on CPU
    return dict(
        cudnn_benchmark=cfg.get('cudnn_benchmark', False),
        mp_cfg=dict(mp_start_method=cfg.get('mp_start_method', 'fork'),
                    opencv_num_threads=cfg.get('opencv_num_threads', 0)),
        dist_cfg=dist,
    )


def translate_checkpoint_loading(cfg: Config) -> dict:
    """``load_from`` / ``resume_from`` / ``auto_resume`` -> ``load_from`` + ``resume``."""
    resume_from = cfg.get('resume_from')
    if resume_from:
        return dict(load_from=resume_from, resume=True)
    if cfg.get('auto_resume'):
        return dict(load_from=None, resume=True)
    return dict(load_from=cfg.get('load_from'), resume=False)


def check_workflow(cfg: Config) -> None:
    """Only ``[('train', N)]`` workflows exist in mmengine; validation runs by ``evaluation``."""
    for phase, _ in cfg.get('workflow') or [('train', 1)]:
        if phase != 'train':
            warnings.warn(f"workflow phase '{phase}' is ignored: validation runs every "
                          '`evaluation.interval` epochs instead', stacklevel=2)


# --------------------------------------------------------------------------- all together
def translate_train_config(cfg: Config, validate: bool = True) -> dict:
    """All keyword arguments of :class:`mmengine.runner.Runner` for training."""
    check_workflow(cfg)
    with_val = validate and cfg.get('data', {}).get('val') is not None
    kwargs: dict = dict(model=translate_model(cfg), work_dir=_require(cfg, 'work_dir'))
    kwargs.update(translate_data(cfg, with_val))
    kwargs.update(translate_loops(cfg, with_val))
    kwargs['optim_wrapper'] = translate_optimizer(cfg)
    kwargs['param_scheduler'] = translate_lr_config(cfg) or None
    if with_val:
        kwargs['val_evaluator'] = build_evaluator(cfg, kwargs['val_dataloader']['dataset'])
    if 'test_dataloader' in kwargs:
        kwargs['test_evaluator'] = build_evaluator(cfg, kwargs['test_dataloader']['dataset'])
    kwargs.update(translate_hooks(cfg))
    kwargs.update(translate_checkpoint_loading(cfg))
    kwargs['auto_scale_lr'] = _plain(cfg.get('auto_scale_lr'))
    kwargs.update(_common_runtime(cfg))
    return kwargs


def translate_test_config(cfg: Config, checkpoint: str,
                          metric_options: dict | None = None) -> dict:
    """Keyword arguments of :class:`mmengine.runner.Runner` for testing ``checkpoint``."""
    data = _plain(_require(cfg, 'data'))
    test_loader = _dataloader(data, 'test', False, 1)
    return dict(
        model=translate_model(cfg),
        work_dir=_require(cfg, 'work_dir'),
        test_dataloader=test_loader,
        test_cfg=dict(),
        test_evaluator=build_evaluator(cfg, test_loader['dataset'], metric_options),
        default_hooks=dict(timer=dict(type='IterTimerHook'),
                           logger=dict(type='LoggerHook', interval=50)),
        custom_hooks=_plain(MMSSD_HOOKS),
        load_from=checkpoint,
        resume=False,
        **_common_runtime(cfg),
    )


def translate_model_wrapper(cfg: Config) -> dict:
    """``model_wrapper_cfg`` (DDP that also runs on CPU) with ``find_unused_parameters``.

    The type carries its scope: mmengine's Runner looks wrappers up in its root registry.
    """
    wrapper = dict(type='mmssd.DeviceAwareDistributedDataParallel', broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.update(_plain(cfg.get('model_wrapper_cfg') or {}))
    return wrapper


def _common_runtime(cfg: Config) -> dict:
    return dict(
        launcher=cfg.get('launcher', 'none'),
        model_wrapper_cfg=translate_model_wrapper(cfg),
        env_cfg=translate_environment(cfg),
        log_level=cfg.get('log_level', 'INFO'),
        log_processor=dict(by_epoch=cfg.get('runner', {}).get('type') != 'IterBasedRunner'),
        visualizer=translate_visualizer(cfg),
        default_scope='mmssd',
        randomness=dict(seed=cfg.get('seed'), deterministic=cfg.get('deterministic', False)),
    )
