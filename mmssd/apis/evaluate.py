"""Evaluate a checkpoint on a config's test set."""
from __future__ import annotations

from mmengine.config import Config

from mmssd.engine import close_distributed, translate_test_config
from mmssd.utils import register_all_modules

from .runner_factory import make_runner


def evaluate_detector(cfg: Config, checkpoint: str, metric_options: dict | None = None,
                  out: str | None = None, evaluate: bool = True,
                  show_dir: str | None = None, show_score_thr: float = 0.3,
                  show_gt: bool = False) -> dict:
    """Run ``checkpoint`` on ``data.test`` and return the metrics.

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
    """
    register_all_modules()
    kwargs = translate_test_config(cfg, checkpoint, metric_options)
    evaluators = [kwargs['test_evaluator']] if evaluate else []
    if out is not None:
        evaluators.append(dict(type='mmssd.DumpResults', out_file_path=out))
    if show_dir is not None:
        kwargs['custom_hooks'] = [*kwargs['custom_hooks'], dict(
            type='ShowResultsHook', show_dir=show_dir, score_thr=show_score_thr,
            show_gt=show_gt)]
    if not evaluators and show_dir is None:
        raise ValueError('nothing to do: give `out` or `show_dir`, or set `evaluate=True`')
    kwargs['test_evaluator'] = evaluators
    runner = make_runner(kwargs, cfg, 'test')
    metrics = runner.test()
    close_distributed()
    return metrics
