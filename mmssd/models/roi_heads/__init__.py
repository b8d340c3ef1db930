"""RoI heads of two-stage detectors (registered in ``MODELS``)."""
from .bbox_heads import BBoxHead, ConvFCBBoxHead, Shared2FCBBoxHead, Shared4Conv1FCBBoxHead
from .cascade_roi_head import CascadeRoIHead
from .roi_extractors import SingleRoIExtractor
from .standard_roi_head import StandardRoIHead, assign_and_sample

__all__ = ['BBoxHead', 'CascadeRoIHead', 'ConvFCBBoxHead', 'Shared2FCBBoxHead',
           'Shared4Conv1FCBBoxHead', 'SingleRoIExtractor', 'StandardRoIHead', 'assign_and_sample']
