"""Necks (registered in ``MODELS``)."""
from .fpn import FPN
from .ssd_neck import SSDNeck
from .yolox_pafpn import YOLOXPAFPN

__all__ = ['FPN', 'SSDNeck', 'YOLOXPAFPN']
