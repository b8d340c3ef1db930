"""The one place where mmdetection 2.x runtime keys become mmengine ``Runner`` arguments.

A 2.x config (``data``, ``optimizer``, ``optimizer_config``, ``lr_config``, ``runner``,
``checkpoint_config``, ``log_config``, ``evaluation``, ``custom_hooks``, ``load_from``,
``resume_from``, ...) goes in; a dict of keyword arguments for
:class:`mmengine.runner.Runner` comes out (:func:`translate_train_config`,
:func:`translate_test_config`). ``docs/config.md`` documents the mapping.

Where things live:

- ``common``: the rename table (2.x keys copied unchanged to one Runner argument), plain
  copies, required keys. A new plain rename is one line there.
- ``device``: every choice that depends on a GPU being present (``pin_memory``, AMP vs
  bfloat16 autocast, nccl vs gloo, who converts SyncBN).
- ``data`` (model, datasets, dataloaders), ``optim`` (optimizer, fp16), ``schedule``
  (training length, loops, lr and momentum schedulers), ``evaluation`` (metric config),
  ``hooks`` (default/custom hooks, logger backends), ``runtime`` (distributed setup,
  model wrapper, SyncBN, resuming), ``keys`` (top-level key checks).
- ``logger_hooks`` (``log_config.hooks``: TensorBoard, W&B, MLflow backends and their
  hooks) and ``custom_hooks`` (2.x EMA hooks, ``EarlyStoppingHook``), used by ``hooks``.
- ``runner_args``: the two entry points that put the pieces together.
"""
from mmssd.utils.config_error import ConfigError

from .common import RUNTIME_RENAMES, TRAIN_RENAMES, Rename, apply_renames
from .custom_hooks import translate_custom_hooks
from .data import dataloader_config, translate_data, translate_dataset, translate_model
from .evaluation import METRIC_FOR_DATASET, evaluator_config
from .hooks import MMSSD_HOOKS, translate_hooks, visualizer_config
from .keys import RUNTIME_KEYS, check_top_level_keys, check_workflow
from .logger_hooks import LOGGER_HOOKS, logger_extra_hooks, logger_vis_backends
from .optim import translate_fp16, translate_optimizer
from .runner_args import translate_test_config, translate_train_config
from .runtime import (
    dist_config,
    translate_checkpoint_loading,
    translate_model_wrapper,
    translate_sync_bn,
)
from .schedule import (
    TrainingLength,
    training_length,
    translate_loops,
    translate_lr_config,
    translate_momentum_config,
)

__all__ = [
    'LOGGER_HOOKS', 'METRIC_FOR_DATASET', 'MMSSD_HOOKS', 'RUNTIME_KEYS', 'RUNTIME_RENAMES',
    'TRAIN_RENAMES', 'ConfigError', 'Rename', 'TrainingLength', 'apply_renames',
    'check_top_level_keys', 'check_workflow', 'dataloader_config', 'dist_config',
    'evaluator_config', 'training_length', 'translate_checkpoint_loading', 'translate_data',
    'translate_dataset', 'translate_fp16', 'translate_hooks', 'translate_loops',
    'translate_lr_config', 'translate_model', 'translate_model_wrapper',
    'translate_momentum_config', 'translate_optimizer', 'translate_sync_bn',
    'translate_test_config', 'translate_train_config', 'visualizer_config',
    'translate_custom_hooks', 'logger_extra_hooks', 'logger_vis_backends',
]
