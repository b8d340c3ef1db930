"""Evaluation metrics (registered in ``mmssd.registry.METRICS`` on import)."""
from .average_precision import average_precision
from .coco_metric import CocoMetric
from .confusion_matrix import detection_confusion_matrix
from .dump_results import DumpResults
from .mean_ap import eval_map, print_map_summary
from .results2json import results2json, xyxy2xywh
from .voc_metric import VOCMetric

__all__ = ['CocoMetric', 'DumpResults', 'VOCMetric', 'average_precision',
           'detection_confusion_matrix', 'eval_map',
           'print_map_summary', 'results2json', 'xyxy2xywh']
