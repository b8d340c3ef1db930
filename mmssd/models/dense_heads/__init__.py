"""Dense (per-location) detection heads (registered in ``MODELS``)."""
from .anchor_head import AnchorHead, AnchorTargets
from .retina_head import RetinaHead
from .rpn_head import RPNHead
from .ssd_head import SSDHead, SSDTargets

__all__ = ['AnchorHead', 'AnchorTargets', 'RetinaHead', 'RPNHead', 'SSDHead', 'SSDTargets']
