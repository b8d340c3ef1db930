"""Evaluate a checkpoint on a config's test set."""
from __future__ import annotations

from mmengine.config import Config
from torch import nn

from mmssd.engine import close_distributed, translate_test_config
from mmssd.utils import register_all_modules

from .runner_factory import make_runner


def evaluate_detector(cfg: Config, checkpoint: str, metric_options: dict | None = None,
                  out: str | None = None, evaluate: bool = True,
                  show_dir: str | None = None, show_score_thr: float = 0.3,
                  show_gt: bool = False, model: nn.Module | None = None) -> dict:
    """Run ``checkpoint`` on ``data.test`` and return the metrics (the runner is set up by
    :func:`mmssd.engine.translate_test_config`).

    Args:
        cfg: the 2.x config (``work_dir`` must be set; logs go there).
        checkpoint: path of the checkpoint to evaluate.
        metric_options: extra metric arguments (``--eval-options``), e.g. ``classwise=True``.
        out: if given, a ``.pkl`` path where the raw per-image, per-class detections go.
        evaluate: compute the metric (``False`` with ``out``: only dump the detections).
        show_dir: if given, every test image is saved there with its predictions drawn
            (:class:`mmssd.engine.hooks.ShowResultsHook`).
        show_score_thr: smallest score drawn in ``show_dir`` images.
        show_gt: also draw the ground truth (white) in ``show_dir`` images.
        model: run this model instead of the config's with ``checkpoint``'s weights (an
            :class:`mmssd.deployment.ONNXRuntimeModel`: ``checkpoint`` is then its file,
            named in the logs, and nothing is loaded).

    Raises:
        ValueError: nothing to do (``evaluate=False`` without ``out`` or ``show_dir``).
    """
    register_all_modules()
    setup = translate_test_config(cfg, checkpoint, metric_options, out=out, evaluate=evaluate,
                                  show_dir=show_dir, show_score_thr=show_score_thr,
                                  show_gt=show_gt)
    if model is not None:
        args = setup.runner_args
        args.update(model=model, load_from=None, custom_hooks=[
            hook for hook in args['custom_hooks'] if hook['type'] != 'CheckpointMatchHook'])
    runner = make_runner(setup, cfg)
    metrics = runner.test()
    close_distributed()
    return metrics
