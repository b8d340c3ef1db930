"""Helpers of the models: NMS, result formatting, padding, cross-process means."""
from .bbox2result import bbox2result
from .multiclass_nms import multiclass_nms
from .padding import pad_instances
from .reduce_mean import reduce_mean

__all__ = ['bbox2result', 'multiclass_nms', 'pad_instances', 'reduce_mean']
