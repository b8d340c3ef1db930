"""One way from translated keyword arguments to an mmengine ``Runner``."""
from __future__ import annotations

import copy

from mmengine.config import Config
from mmengine.runner import Runner

from mmssd.engine import init_distributed, install_checkpointing
from mmssd.engine.runner import DetRunner


def make_runner(kwargs: dict, cfg: Config, checkpoint_use: str) -> Runner:
    """Install mmssd's checkpoint handling, start the process group the launcher asks
    for, then build the ``Runner`` (:class:`~mmssd.engine.runner.DetRunner`).

    ``model_wrapper_cfg`` and ``sync_bn`` are read by mmengine from the runner's ``cfg``,
    not from its arguments, so they travel there (on a copy: the user's config stays as
    loaded).

    Args:
        kwargs: the translated ``Runner`` arguments.
        cfg: the 2.x config they come from.
        checkpoint_use: what a checkpoint the runner loads is for: ``'resume'``,
            ``'finetune'`` (``load_from`` in training) or ``'test'``; a checkpoint that
            does not fit the model is refused or named as
            :class:`mmssd.engine.CheckpointMatchHook` says.
    """
    install_checkpointing()
    kwargs = dict(kwargs)
    kwargs['custom_hooks'] = [*kwargs.get('custom_hooks', []), dict(
        type='CheckpointMatchHook', mode=checkpoint_use, checkpoint=kwargs.get('load_from'))]
    runner_cfg = copy.deepcopy(cfg)
    runner_cfg.model_wrapper_cfg = kwargs.pop('model_wrapper_cfg')
    runner_cfg.sync_bn = kwargs.pop('sync_bn')
    init_distributed(kwargs['launcher'], **kwargs['env_cfg']['dist_cfg'])
    return DetRunner(**kwargs, cfg=runner_cfg)
