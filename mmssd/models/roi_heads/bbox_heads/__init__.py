"""RoI box heads (registered in ``MODELS``)."""
from .bbox_head import BBoxHead, accuracy
from .convfc_bbox_head import ConvFCBBoxHead, Shared2FCBBoxHead, Shared4Conv1FCBBoxHead

__all__ = ['BBoxHead', 'accuracy', 'ConvFCBBoxHead', 'Shared2FCBBoxHead',
           'Shared4Conv1FCBBoxHead']
