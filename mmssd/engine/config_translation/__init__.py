"""The one place where mmdetection 2.x runtime keys become what mmengine's ``Runner`` is
built from.

A 2.x config (``data``, ``optimizer``, ``optimizer_config``, ``lr_config``, ``runner``,
``checkpoint_config``, ``log_config``, ``evaluation``, ``custom_hooks``, ``load_from``,
``resume_from``, ...) goes in; a :class:`RunnerSetup` comes out
(:func:`translate_train_config`, :func:`translate_test_config`): the keyword arguments of
:class:`mmengine.runner.Runner`, every hook of the run included, and the keys the
runner's ``cfg`` must carry. ``docs/config.md`` documents the mapping.

Where things live:

- ``common``: the rename table (2.x keys copied unchanged to one Runner argument), plain
  copies, required keys. A new plain rename is one line there.
- ``device``: every choice that depends on a GPU being present (``pin_memory``, AMP vs
  bfloat16 autocast, nccl vs gloo, who converts SyncBN).
- ``data`` (model, datasets, dataloaders), ``optim`` (optimizer, fp16), ``schedule``
  (training length, loops, lr and momentum schedulers), ``evaluation`` (metric config),
  ``runtime`` (distributed setup, visualizer, resuming, and the model wrapper and SyncBN
  that go to the runner's ``cfg``), ``keys`` (top-level key checks).
- ``hook_configs``: the configs of every hook a run has (``default_hooks``,
  ``custom_hooks``), drawing on ``logger_hooks`` (``log_config.hooks``: TensorBoard, W&B,
  MLflow backends and their hooks) and ``custom_hooks`` (2.x EMA hooks,
  ``EarlyStoppingHook``).
- ``runner_args``: :class:`RunnerSetup` and the two entry points that put the pieces
  together.

Only what is used outside this package is exported here; tests of a step import its
module.
"""
from mmssd.utils.config_error import ConfigError

from .data import translate_model
from .evaluation import evaluator_config
from .runner_args import RunnerSetup, translate_test_config, translate_train_config

__all__ = ['ConfigError', 'RunnerSetup', 'evaluator_config', 'translate_model',
           'translate_test_config', 'translate_train_config']
