"""A whole 2.x config -> everything an mmengine :class:`~mmengine.runner.Runner` is built
from (:class:`RunnerSetup`), for training and for testing."""
from __future__ import annotations

import copy
from dataclasses import dataclass

from mmengine.config import Config

from .common import TRAIN_RENAMES, apply_renames, plain, require
from .data import dataloader_config, translate_data, translate_model
from .evaluation import evaluator_config
from .hook_configs import testing_hooks, training_hooks
from .keys import check_top_level_keys, check_workflow
from .optim import translate_optimizer
from .runtime import common_runtime, runner_cfg_keys, translate_checkpoint_loading
from .schedule import (
    training_length,
    translate_loops,
    translate_lr_config,
    translate_momentum_config,
)


@dataclass(frozen=True)
class RunnerSetup:
    """What an mmengine ``Runner`` is built from, translated from a 2.x config.

    Attributes:
        runner_args: the keyword arguments of ``Runner``; every hook of the run is in
            their ``default_hooks`` and ``custom_hooks``.
        cfg_keys: what the config given as ``Runner(cfg=...)`` must carry, because
            mmengine reads it from there and not from the arguments:
            ``model_wrapper_cfg`` and ``sync_bn``.
    """

    runner_args: dict
    cfg_keys: dict

    def runner_cfg(self, cfg: Config) -> Config:
        """A copy of ``cfg`` carrying :attr:`cfg_keys` (``cfg`` stays as loaded)."""
        out = copy.deepcopy(cfg)
        for key, value in self.cfg_keys.items():
            out[key] = copy.deepcopy(value)
        return out


def translate_train_config(cfg: Config, validate: bool = True) -> RunnerSetup:
    """The :class:`RunnerSetup` of training as ``cfg`` says (``work_dir`` must be set).

    Args:
        cfg: the 2.x config.
        validate: validate as ``evaluation`` says (where ``data.val`` is set).
    """
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
    loading = translate_checkpoint_loading(cfg)
    kwargs.update(loading)
    kwargs.update(training_hooks(cfg, length.by_epoch, loading))
    kwargs.update(common_runtime(cfg, length.by_epoch))
    return RunnerSetup(runner_args=apply_renames(cfg, TRAIN_RENAMES, kwargs),
                       cfg_keys=runner_cfg_keys(cfg))


def translate_test_config(cfg: Config, checkpoint: str, metric_options: dict | None = None,
                          *, out: str | None = None, evaluate: bool = True,
                          show_dir: str | None = None, show_score_thr: float = 0.3,
                          show_gt: bool = False) -> RunnerSetup:
    """The :class:`RunnerSetup` of testing ``checkpoint`` on ``data.test``.

    No training length is needed: the log processor only asks whether the runner
    counts epochs (any ``runner.type`` but ``IterBasedRunner``).

    Args:
        cfg: the 2.x config (``work_dir`` must be set; logs go there).
        checkpoint: path of the checkpoint to test.
        metric_options: extra metric arguments (``--eval-options``), e.g. ``classwise=True``.
        out: if given, a ``.pkl`` path where the raw per-image, per-class detections go
            (``mmssd.evaluation.DumpResults``).
        evaluate: compute the metric (``False`` with ``out``: only dump the detections).
        show_dir: if given, every test image is saved there with its predictions drawn
            (:class:`mmssd.engine.hooks.ShowResultsHook`).
        show_score_thr: smallest score drawn in ``show_dir`` images.
        show_gt: also draw the ground truth in ``show_dir`` images.

    Raises:
        ValueError: nothing to do (no metric, no ``out`` and no ``show_dir``).
    """
    if not (evaluate or out is not None or show_dir is not None):
        raise ValueError('nothing to do: give `out` or `show_dir`, or set `evaluate=True`')
    check_top_level_keys(cfg)
    data = plain(require(cfg, 'data'))
    test_loader = dataloader_config(data, 'test', False, 1)
    evaluators = ([evaluator_config(cfg, test_loader['dataset'], metric_options)]
                  if evaluate else [])
    if out is not None:
        evaluators.append(dict(type='mmssd.DumpResults', out_file_path=out))
    show = (None if show_dir is None else
            dict(show_dir=show_dir, score_thr=show_score_thr, show_gt=show_gt))
    by_epoch = (cfg.get('runner') or {}).get('type') != 'IterBasedRunner'
    kwargs = dict(
        model=translate_model(cfg),
        work_dir=require(cfg, 'work_dir'),
        test_dataloader=test_loader,
        test_cfg=dict(),
        test_evaluator=evaluators,
        **testing_hooks(checkpoint, show),
        load_from=checkpoint,
        resume=False,
        **common_runtime(cfg, by_epoch),
    )
    return RunnerSetup(runner_args=kwargs, cfg_keys=runner_cfg_keys(cfg))

