"""One way from translated keyword arguments to an mmengine ``Runner``."""
from __future__ import annotations

import copy

from mmengine.config import Config
from mmengine.runner import Runner

from mmssd.engine import init_distributed


def make_runner(kwargs: dict, cfg: Config) -> Runner:
    """Start the process group the launcher asks for, then build the ``Runner``.

    ``model_wrapper_cfg`` and ``sync_bn`` are read by mmengine from the runner's ``cfg``,
    not from its arguments, so they travel there (on a copy: the user's config stays as
    loaded).
    """
    kwargs = dict(kwargs)
    runner_cfg = copy.deepcopy(cfg)
    runner_cfg.model_wrapper_cfg = kwargs.pop('model_wrapper_cfg')
    runner_cfg.sync_bn = kwargs.pop('sync_bn')
    init_distributed(kwargs['launcher'], **kwargs['env_cfg']['dist_cfg'])
    return Runner(**kwargs, cfg=runner_cfg)
