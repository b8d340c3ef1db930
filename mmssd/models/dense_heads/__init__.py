"""Dense (per-location) detection heads (registered in ``MODELS``)."""
from .anchor_head import AnchorHead, AnchorTargets
from .atss_head import ATSSHead
from .gfl_head import GFLHead
from .retina_head import RetinaHead
from .rpn_head import RPNHead
from .ssd_head import SSDHead, SSDTargets

__all__ = ['ATSSHead', 'AnchorHead', 'AnchorTargets', 'GFLHead', 'RetinaHead', 'RPNHead',
           'SSDHead', 'SSDTargets']
