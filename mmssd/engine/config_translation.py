"""The one place where mmdetection 2.x runtime keys become mmengine ``Runner`` arguments.

A 2.x config (``data``, ``optimizer``, ``optimizer_config``, ``lr_config``, ``runner``,
``checkpoint_config``, ``log_config``, ``evaluation``, ``custom_hooks``, ``load_from``,
``resume_from``, ...) goes in; a dict of keyword arguments for
:class:`mmengine.runner.Runner` comes out. Each ``_translate_*`` function handles one
2.x key; ``docs/config.md`` documents the mapping.
"""
from __future__ import annotations

import copy
import difflib
import warnings
from typing import Any

import torch
from mmengine.config import Config

from mmssd.datasets.builder import expand_dataset_config, leaf_dataset_configs


class ConfigError(ValueError):
    """A config value that mmssd cannot translate; the message names the key."""


#: Hooks every mmssd run has: safe checkpoints and progress bars for evaluation.
MMSSD_HOOKS = [dict(type='SafeCheckpointHook'), dict(type='EvalProgressBarHook'),
               dict(type='EpochSeedHook')]

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
def translate_dataset(dataset: Any, split: str) -> dict:
    """One 2.x ``data.<split>`` dataset config -> the config mmengine's Runner builds.

    A list of configs, or a list ``ann_file`` (with per-file ``img_prefix``, ...),
    becomes a ``ConcatDataset`` config, inside wrappers too
    (:func:`mmssd.datasets.expand_dataset_config`): the Runner builds datasets with
    mmengine's root registry, which knows nothing of the 2.x list form. Val/test
    datasets get ``test_mode=True`` on every wrapped dataset, as mmdetection 2.x sets.
    """
    try:
        dataset = expand_dataset_config(_plain(dataset))
    except (TypeError, ValueError) as e:
        raise ConfigError(f'config key `data.{split}`: {e}') from e
    if split != 'train':
        for leaf in leaf_dataset_configs(dataset):
            leaf['test_mode'] = True
    return dataset


def _dataloader(data: dict, split: str, shuffle: bool, default_batch: int) -> dict:
    """One mmengine dataloader dict from the 2.x ``data`` dict."""
    if split not in data:
        raise ConfigError(f'config key `data.{split}` is missing')
    dataset = _plain(data[split])
    if isinstance(dataset, dict):  # 2.x puts the val/test batch size in the dataset config
        default_batch = dataset.pop('samples_per_gpu', default_batch)
    dataset = translate_dataset(dataset, split)
    overrides = _plain(data.get(f'{split}_dataloader', {}))
    batch = overrides.pop('samples_per_gpu', default_batch)
    workers = overrides.pop('workers_per_gpu', data.get('workers_per_gpu', 2))
    loader = dict(
        batch_size=batch,
        num_workers=workers,
        persistent_workers=workers > 0,
        # page-locked batches let the host-to-GPU copy run asynchronously; useless without one
        pin_memory=torch.cuda.is_available(),
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
        # mmengine looks collate functions up in its root registry: name the scope
        collate_fn=dict(type='mmssd.detection_collate'),
        worker_init_fn=dict(type='mmssd.seed_worker'),
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
    wrapper.update(translate_fp16(cfg))
    if opt_cfg:
        raise ConfigError(f'unsupported keys in `optimizer_config`: {sorted(opt_cfg)}; '
                          'known keys: grad_clip, cumulative_iters')
    return wrapper


def translate_fp16(cfg: Config) -> dict:
    """``fp16=dict(loss_scale=..., dtype=...)`` -> the mixed-precision optim wrapper.

    With a GPU: mmengine's ``AmpOptimWrapper`` (float16 with loss scaling, or the
    ``dtype`` asked for). Without one: bfloat16 autocast on CPU (float16 matmuls are not
    a CPU feature; bfloat16 needs no loss scale).
    """
    fp16 = _plain(cfg.get('fp16'))
    if not fp16:
        return {}
    unknown = set(fp16) - {'loss_scale', 'dtype'}
    if unknown:
        raise ConfigError(f'unsupported keys in `fp16`: {sorted(unknown)}; known keys: '
                          'loss_scale, dtype')
    if torch.cuda.is_available():
        return dict(type='AmpOptimWrapper', loss_scale=fp16.get('loss_scale', 'dynamic'),
                    dtype=fp16.get('dtype'))
    dtype = fp16.get('dtype') or 'bfloat16'
    if dtype != 'bfloat16':
        raise ConfigError(f"`fp16.dtype` is '{dtype}', which needs a GPU; on CPU mixed "
                          "precision runs as 'bfloat16'")
    return dict(type='mmssd.AutocastOptimWrapper', device_type='cpu', dtype='bfloat16')


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
    if warmup == 'exp':
        return dict(type='mmssd.ExpWarmupLR', ratio=ratio, **common)
    raise ConfigError(f"`lr_config.warmup` is '{warmup}'; supported: 'linear', 'constant', "
                      "'exp'")


def _min_lr(lr_config: dict) -> dict:
    if 'min_lr_ratio' in lr_config:
        return dict(eta_min_ratio=lr_config.pop('min_lr_ratio'))
    return dict(eta_min=lr_config.pop('min_lr', 0.0))


def _whole_run_span(lr_by_epoch: bool, runner_by_epoch: bool, length: int) -> dict:
    """Span of a policy that runs over the whole training (cosine, poly, one-cycle).

    With an epoch-based runner it is counted in epochs; ``lr_config.by_epoch=False``
    (update every iteration, as mmcv 1.x does then) converts it to iterations once the
    epoch length is known.
    """
    return dict(by_epoch=runner_by_epoch, begin=0, end=length,
                convert_to_iter_based=runner_by_epoch and not lr_by_epoch)


def _policy_scheduler(lr_config: dict, lr_by_epoch: bool, runner_by_epoch: bool,
                      length: int) -> dict | None:
    """The scheduler of ``lr_config.policy``; mmcv 1.x's formula at every step.

    ``step`` milestones and the ``Exp`` decay count epochs when the learning rate is
    updated per epoch, iterations otherwise.
    """
    policy = lr_config.pop('policy')
    per_step = dict(by_epoch=lr_by_epoch and runner_by_epoch, begin=0)
    whole_run = _whole_run_span(lr_by_epoch, runner_by_epoch, length)
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
    if policy == 'Poly':
        return dict(type='mmssd.MMCVPolyLR', power=lr_config.pop('power', 1.0),
                    eta_min=lr_config.pop('min_lr', 0.0), **whole_run)
    if policy == 'OneCycle':
        return _one_cycle_scheduler(lr_config, whole_run)
    raise ConfigError(f"`lr_config.policy` is '{policy}'; supported: step, CosineAnnealing, "
                      'Poly, Exp, OneCycle, fixed')


def _one_cycle_scheduler(lr_config: dict, whole_run: dict) -> dict:
    """mmcv 1.x ``OneCycle`` (updated every iteration) -> mmengine ``OneCycleLR``.

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
    lr_by_epoch = lr_config.pop('by_epoch', True)
    schedulers = [_warmup_scheduler(lr_config),
                  _policy_scheduler(lr_config, lr_by_epoch, runner_by_epoch, length)]
    if lr_config:
        raise ConfigError(f'unsupported keys in `lr_config`: {sorted(lr_config)}')
    return [s for s in schedulers if s is not None]


def translate_momentum_config(cfg: Config) -> list[dict]:
    """``momentum_config`` (policies ``step`` and ``CosineAnnealing``) -> momentum schedulers."""
    momentum = _plain(cfg.get('momentum_config'))
    if not momentum:
        return []
    runner_by_epoch, length = _training_length(cfg)
    by_epoch = momentum.pop('by_epoch', True) and runner_by_epoch
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
        scheduler = dict(type='CosineAnnealingMomentum', T_max=length, begin=0, end=length,
                         by_epoch=runner_by_epoch,
                         convert_to_iter_based=runner_by_epoch and not by_epoch, **low)
    else:
        raise ConfigError(f"`momentum_config.policy` is '{policy}'; supported: step, "
                          'CosineAnnealing')
    if momentum:
        raise ConfigError(f'unsupported keys in `momentum_config`: {sorted(momentum)}')
    return [scheduler]


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
    """``evaluation`` (+ ``--eval-options``) -> an mmengine metric config for a dataset.

    Every key of ``evaluation`` but the runtime ones (interval, save_best, ...) is a metric
    argument, as mmdetection 2.x passed them to ``dataset.evaluate``: ``metric='bbox'``,
    ``classwise``, ``iou_thrs``, ... for ``CocoMetric``; ``metric='mAP'``, ``iou_thr``,
    ``scale_ranges`` for ``VOCMetric``. ``evaluation.type`` names the metric class; by
    default it follows the dataset type (:data:`METRIC_FOR_DATASET`).
    """
    evaluation = _plain(cfg.get('evaluation') or {})
    metric_args = {k: v for k, v in evaluation.items() if k not in _EVALUATION_RUNTIME_KEYS}
    metric_args.update(metric_options or {})
    leaves = leaf_dataset_configs(dataset_cfg)  # the type inside Repeat/Concat wrappers
    dataset_type = (leaves[0] if leaves else dataset_cfg).get('type', 'CocoDataset')
    dataset_type = dataset_type.split('.')[-1]  # 'mmssd.VOCDataset' -> 'VOCDataset'
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


#: Top-level keys a 2.x config may set, besides its own helper variables.
RUNTIME_KEYS = (
    'model', 'data', 'optimizer', 'optimizer_config', 'lr_config', 'momentum_config', 'runner',
    'total_epochs', 'checkpoint_config', 'log_config', 'evaluation', 'custom_hooks',
    'workflow', 'load_from', 'resume_from', 'auto_resume', 'auto_scale_lr', 'dist_params',
    'log_level', 'opencv_num_threads', 'mp_start_method', 'cudnn_benchmark', 'fp16',
    'work_dir', 'gpu_ids', 'seed', 'deterministic', 'launcher', 'custom_imports',
    'find_unused_parameters', 'model_wrapper_cfg', 'sync_bn', 'device', 'default_scope',
    'train_dataloader', 'val_dataloader', 'test_dataloader')


def _normalised(key: str) -> str:
    return key.lower().replace('_cfg', '_config').replace('-', '_')


def check_top_level_keys(cfg: Config) -> None:
    """Refuse a top-level key that looks like a misspelt runtime key (``checkpoint_cfg``).

    Keys far from every runtime key (``data_root``, ``img_norm_cfg``, ``train_pipeline``,
    ...) are the config's own variables and stay legal.
    """
    known = {_normalised(k): k for k in RUNTIME_KEYS}
    for key in cfg:
        if key in RUNTIME_KEYS or key.startswith('_'):
            continue
        if key == 'compile':  # mmengine 3.x-style configs set it at the top
            raise ConfigError("top-level config key 'compile' is not used by mmssd; set "
                              "'model.compile' (True or a dict of torch.compile arguments) "
                              'to compile the backbone, neck and head')
        close = difflib.get_close_matches(_normalised(key), list(known), n=1, cutoff=0.8)
        if close:
            raise ConfigError(f"unknown top-level config key '{key}'; did you mean "
                              f"'{known[close[0]]}'? (a misspelt key would otherwise be "
                              'silently ignored)')


# --------------------------------------------------------------------------- all together
def translate_train_config(cfg: Config, validate: bool = True) -> dict:
    """All keyword arguments of :class:`mmengine.runner.Runner` for training."""
    check_top_level_keys(cfg)
    check_workflow(cfg)
    with_val = validate and cfg.get('data', {}).get('val') is not None
    kwargs: dict = dict(model=translate_model(cfg), work_dir=_require(cfg, 'work_dir'))
    kwargs.update(translate_data(cfg, with_val))
    kwargs.update(translate_loops(cfg, with_val))
    kwargs['optim_wrapper'] = translate_optimizer(cfg)
    kwargs['param_scheduler'] = (translate_lr_config(cfg) +
                                 translate_momentum_config(cfg)) or None
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
    check_top_level_keys(cfg)
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
    ``sync_bn`` without GPUs is done by the wrapper (:func:`translate_sync_bn`).
    """
    wrapper = dict(type='mmssd.DeviceAwareDistributedDataParallel', broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters', False))
    if cfg.get('sync_bn') and not torch.cuda.is_available():
        wrapper['sync_bn'] = True
    wrapper.update(_plain(cfg.get('model_wrapper_cfg') or {}))
    return wrapper


def translate_sync_bn(cfg: Config) -> str | None:
    """``sync_bn`` for mmengine's Runner: ``'torch'``/``'mmcv'`` with GPUs. Without them
    torch's SyncBatchNorm refuses CPU tensors, so the Runner gets ``None`` and the DDP
    wrapper converts BatchNorm to :class:`~mmssd.engine.AllReduceSyncBatchNorm`."""
    sync_bn = cfg.get('sync_bn')
    if sync_bn not in (None, False, 'torch', 'mmcv'):
        raise ConfigError(f"`sync_bn` is {sync_bn!r}; expected 'torch' (or 'mmcv' with "
                          "mmcv's compiled ops)")
    if not sync_bn or not torch.cuda.is_available():
        return None
    return sync_bn


def _common_runtime(cfg: Config) -> dict:
    return dict(
        launcher=cfg.get('launcher', 'none'),
        model_wrapper_cfg=translate_model_wrapper(cfg),
        sync_bn=translate_sync_bn(cfg),
        env_cfg=translate_environment(cfg),
        log_level=cfg.get('log_level', 'INFO'),
        log_processor=dict(by_epoch=cfg.get('runner', {}).get('type') != 'IterBasedRunner'),
        visualizer=translate_visualizer(cfg),
        default_scope='mmssd',
        randomness=dict(seed=cfg.get('seed'), deterministic=cfg.get('deterministic', False)),
    )
