"""Dense (per-location) detection heads (registered in ``MODELS``)."""
from .ssd_head import SSDHead, SSDTargets

__all__ = ['SSDHead', 'SSDTargets']
