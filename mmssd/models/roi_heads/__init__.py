"""RoI heads of two-stage detectors (registered in ``MODELS``)."""
from .base_roi_head import BaseRoIHead, assign_and_sample
from .bbox_heads import BBoxHead, ConvFCBBoxHead, Shared2FCBBoxHead, Shared4Conv1FCBBoxHead
from .cascade_roi_head import CascadeRoIHead
from .roi_extractors import SingleRoIExtractor
from .standard_roi_head import StandardRoIHead

__all__ = ['BaseRoIHead', 'BBoxHead', 'CascadeRoIHead', 'ConvFCBBoxHead', 'Shared2FCBBoxHead',
           'Shared4Conv1FCBBoxHead', 'SingleRoIExtractor', 'StandardRoIHead', 'assign_and_sample']
