"""One way from a translated :class:`~mmssd.engine.RunnerSetup` to an mmengine ``Runner``."""
from __future__ import annotations

from mmengine.config import Config
from mmengine.runner import Runner

from mmssd.engine import RunnerSetup, init_distributed, install_checkpointing
from mmssd.engine.runner import DetRunner


def make_runner(setup: RunnerSetup, cfg: Config) -> Runner:
    """Install mmssd's checkpoint handling, start the process group the launcher asks
    for, then build the runner (:class:`~mmssd.engine.runner.DetRunner`) exactly as
    ``setup`` says.

    Nothing is added here: the translation step
    (:mod:`mmssd.engine.config_translation`) gives every argument and hook.

    Args:
        setup: the translated ``Runner`` arguments and the keys its ``cfg`` carries.
        cfg: the 2.x config they come from (copied, not changed).
    """
    install_checkpointing()
    args = setup.runner_args
    init_distributed(args['launcher'], **args['env_cfg']['dist_cfg'])
    return DetRunner(**args, cfg=setup.runner_cfg(cfg))
