"""Train a detector from a 2.x config."""
from __future__ import annotations

from mmengine.config import Config
from mmengine.runner import Runner

from mmssd.engine import close_distributed, translate_train_config
from mmssd.utils import register_all_modules

from .interrupt import TrainingInterrupted, interruption_message, stop_on_signals
from .runner_factory import make_runner


def build_train_runner(cfg: Config, validate: bool = True) -> Runner:
    """An mmengine ``Runner`` set up from the 2.x keys of ``cfg`` (``work_dir`` must be set)."""
    register_all_modules()
    return make_runner(translate_train_config(cfg, validate=validate), cfg)


def train_detector(cfg: Config, validate: bool = True) -> Runner:
    """Train as ``cfg`` says; returns the runner (its ``work_dir`` holds logs and checkpoints).

    Raises:
        TrainingInterrupted: SIGTERM or SIGINT (Ctrl-C) stopped the run; the message says
            where, and which complete checkpoint ``--auto-resume`` continues from.
    """
    runner = None
    with stop_on_signals():
        try:
            runner = build_train_runner(cfg, validate)
            runner.train()
        except TrainingInterrupted as stop:
            done = (runner.epoch, runner.iter) if runner is not None else (0, 0)
            raise TrainingInterrupted(stop.signum, interruption_message(
                stop.signum, cfg.work_dir, *done)) from None
    close_distributed()
    return runner
