"""A whole 2.x config -> the keyword arguments of :class:`mmengine.runner.Runner`."""
from __future__ import annotations

from mmengine.config import Config

from .common import TRAIN_RENAMES, apply_renames, plain, require
from .data import dataloader_config, translate_data, translate_model
from .evaluation import evaluator_config
from .hooks import testing_hooks, translate_hooks
from .keys import check_top_level_keys, check_workflow
from .optim import translate_optimizer
from .runtime import common_runtime, translate_checkpoint_loading
from .schedule import (
    training_length,
    translate_loops,
    translate_lr_config,
    translate_momentum_config,
)


def translate_train_config(cfg: Config, validate: bool = True) -> dict:
    """All keyword arguments of :class:`mmengine.runner.Runner` for training."""
    check_top_level_keys(cfg)
    check_workflow(cfg)
    with_val = validate and cfg.get('data', {}).get('val') is not None
    kwargs: dict = dict(model=translate_model(cfg), work_dir=require(cfg, 'work_dir'))
    kwargs.update(translate_data(cfg, with_val))
    length = training_length(cfg)  # read once, passed to every step that needs it
    kwargs.update(translate_loops(cfg, with_val, length))
    kwargs['optim_wrapper'] = translate_optimizer(cfg)
    kwargs['param_scheduler'] = (translate_lr_config(cfg, length) +
                                 translate_momentum_config(cfg, length)) or None
    if with_val:
        kwargs['val_evaluator'] = evaluator_config(cfg, kwargs['val_dataloader']['dataset'])
    if 'test_dataloader' in kwargs:
        kwargs['test_evaluator'] = evaluator_config(cfg, kwargs['test_dataloader']['dataset'])
    kwargs.update(translate_hooks(cfg, length.by_epoch))
    kwargs.update(translate_checkpoint_loading(cfg))
    kwargs.update(common_runtime(cfg, length.by_epoch))
    return apply_renames(cfg, TRAIN_RENAMES, kwargs)


def translate_test_config(cfg: Config, checkpoint: str,
                          metric_options: dict | None = None) -> dict:
    """Keyword arguments of :class:`mmengine.runner.Runner` for testing ``checkpoint``.

    No training length is needed: the log processor only asks whether the runner
    counts epochs (any ``runner.type`` but ``IterBasedRunner``).
    """
    check_top_level_keys(cfg)
    data = plain(require(cfg, 'data'))
    test_loader = dataloader_config(data, 'test', False, 1)
    by_epoch = (cfg.get('runner') or {}).get('type') != 'IterBasedRunner'
    return dict(
        model=translate_model(cfg),
        work_dir=require(cfg, 'work_dir'),
        test_dataloader=test_loader,
        test_cfg=dict(),
        test_evaluator=evaluator_config(cfg, test_loader['dataset'], metric_options),
        **testing_hooks(),
        load_from=checkpoint,
        resume=False,
        **common_runtime(cfg, by_epoch),
    )
