"""``evaluation`` (+ ``--eval-options``) -> the metric config of the val/test evaluator."""
from __future__ import annotations

from mmengine.config import Config

from mmssd.datasets.builder import leaf_dataset_configs

from .common import plain

#: Metric used for each dataset type when ``evaluation`` names no metric class.
METRIC_FOR_DATASET = {'CocoDataset': 'CocoMetric', 'VOCDataset': 'VOCMetric'}

#: Keys of ``evaluation`` that drive the run, not the metric.
EVALUATION_RUNTIME_KEYS = ('interval', 'start', 'save_best', 'rule', 'by_epoch', 'gpu_collect',
                           'tmpdir', 'efficient_test', 'greater_keys', 'less_keys',
                           'dynamic_intervals')


def evaluator_config(cfg: Config, dataset_cfg: dict,
                     metric_options: dict | None = None) -> dict:
    """The mmengine metric config for a dataset, from ``evaluation`` (+ ``--eval-options``).

    Every key of ``evaluation`` but the runtime ones (interval, save_best, ...) is a metric
    argument, as mmdetection 2.x passed them to ``dataset.evaluate``: ``metric='bbox'``,
    ``classwise``, ``iou_thrs``, ... for ``CocoMetric``; ``metric='mAP'``, ``iou_thr``,
    ``scale_ranges`` for ``VOCMetric``. ``evaluation.type`` names the metric class; by
    default it follows the dataset type (:data:`METRIC_FOR_DATASET`).
    """
    evaluation = plain(cfg.get('evaluation') or {})
    metric_args = {k: v for k, v in evaluation.items() if k not in EVALUATION_RUNTIME_KEYS}
    metric_args.update(metric_options or {})
    leaves = leaf_dataset_configs(dataset_cfg)  # the type inside Repeat/Concat wrappers
    dataset_type = (leaves[0] if leaves else dataset_cfg).get('type', 'CocoDataset')
    dataset_type = dataset_type.split('.')[-1]  # 'mmssd.VOCDataset' -> 'VOCDataset'
    metric_type = metric_args.pop('type', METRIC_FOR_DATASET.get(dataset_type, 'CocoMetric'))
    return dict(type=metric_type, **metric_args)
