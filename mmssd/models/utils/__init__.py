"""Helpers of the models: NMS, result formatting, padding."""
from .bbox2result import bbox2result
from .multiclass_nms import multiclass_nms
from .padding import pad_instances

__all__ = ['bbox2result', 'multiclass_nms', 'pad_instances']
