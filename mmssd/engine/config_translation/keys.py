"""Checks of the top-level keys of a 2.x config: misspelt runtime keys, workflows."""
from __future__ import annotations

import warnings

from mmengine.config import Config

from mmssd.utils.config_error import ConfigError, closest_key

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
        close = closest_key(_normalised(key), known, cutoff=0.8)
        if close:
            meant = known[close]
            raise ConfigError(f"unknown top-level config key '{key}'; did you mean "
                              f"'{meant}'? (a misspelt key would otherwise be "
                              'silently ignored)')


def check_workflow(cfg: Config) -> None:
    """Only ``[('train', N)]`` workflows exist in mmengine; validation runs by ``evaluation``."""
    for phase, _ in cfg.get('workflow') or [('train', 1)]:
        if phase != 'train':
            warnings.warn(f"workflow phase '{phase}' is ignored: validation runs every "
                          '`evaluation.interval` epochs instead', stacklevel=2)
