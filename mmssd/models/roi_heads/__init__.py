"""RoI heads of two-stage detectors (registered in ``MODELS``)."""
from .bbox_heads import BBoxHead, ConvFCBBoxHead, Shared2FCBBoxHead, Shared4Conv1FCBBoxHead
from .roi_extractors import SingleRoIExtractor
from .standard_roi_head import StandardRoIHead, assign_and_sample

__all__ = ['BBoxHead', 'ConvFCBBoxHead', 'Shared2FCBBoxHead', 'Shared4Conv1FCBBoxHead',
           'SingleRoIExtractor', 'StandardRoIHead', 'assign_and_sample']
