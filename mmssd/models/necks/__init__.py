"""Necks (registered in ``MODELS``)."""
from .fpn import FPN
from .ssd_neck import SSDNeck

__all__ = ['FPN', 'SSDNeck']
