"""Evaluate a checkpoint on a config's test set."""
from __future__ import annotations

from mmengine.config import Config

from mmssd.engine import close_distributed, translate_test_config
from mmssd.utils import register_all_modules

from .runner_factory import make_runner


def evaluate_detector(cfg: Config, checkpoint: str, metric_options: dict | None = None,
                  out: str | None = None, evaluate: bool = True) -> dict:
    """Run ``checkpoint`` on ``data.test`` and return the metrics.

    Args:
        cfg: the 2.x config (``work_dir`` must be set; logs go there).
        checkpoint: path of the checkpoint to evaluate.
        metric_options: extra metric arguments (``--eval-options``), e.g. ``classwise=True``.
        out: if given, a ``.pkl`` path where the raw per-image, per-class detections go.
        evaluate: compute the metric (``False`` with ``out``: only dump the detections).
    """
    register_all_modules()
    kwargs = translate_test_config(cfg, checkpoint, metric_options)
    evaluators = [kwargs['test_evaluator']] if evaluate else []
    if out is not None:
        evaluators.append(dict(type='DumpResults', out_file_path=out))
    if not evaluators:
        raise ValueError('nothing to do: give `out` or set `evaluate=True`')
    kwargs['test_evaluator'] = evaluators
    runner = make_runner(kwargs, cfg)
    metrics = runner.test()
    close_distributed()
    return metrics
