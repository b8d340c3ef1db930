"""Dense (per-location) detection heads (registered in ``MODELS``)."""
from .anchor_free_head import AnchorFreeHead
from .anchor_head import AnchorHead, AnchorTargets
from .atss_head import ATSSHead
from .base_dense_head import BaseDenseHead
from .fcos_head import FCOSHead
from .fcos_targets import FCOSTargets, fcos_point_targets
from .gfl_head import GFLHead
from .retina_head import RetinaHead
from .rpn_head import RPNHead
from .ssd_head import SSDHead, SSDTargets
from .yolox_head import YOLOXHead

__all__ = ['ATSSHead', 'AnchorFreeHead', 'AnchorHead', 'AnchorTargets', 'BaseDenseHead',
           'FCOSHead', 'FCOSTargets', 'GFLHead', 'RetinaHead', 'RPNHead', 'SSDHead', 'SSDTargets',
           'YOLOXHead', 'fcos_point_targets']
