"""Dense (per-location) detection heads (registered in ``MODELS``)."""
from .retina_head import RetinaHead
from .ssd_head import SSDHead, SSDTargets

__all__ = ['RetinaHead', 'SSDHead', 'SSDTargets']
