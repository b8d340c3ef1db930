"""Evaluation metrics (registered in ``mmssd.registry.METRICS`` on import)."""
from .coco_metric import CocoMetric
from .results2json import results2json, xyxy2xywh

__all__ = ['CocoMetric', 'results2json', 'xyxy2xywh']
