"""Detectors (registered in ``MODELS``)."""
from .atss import ATSS
from .base import BaseDetector
from .cascade_rcnn import CascadeRCNN
from .gfl import GFL
from .rpn import RPN
from .single_stage import FCOS, SSD, RetinaNet, SingleStageDetector
from .two_stage import FasterRCNN, TwoStageDetector
from .yolox import YOLOX

__all__ = ['ATSS', 'BaseDetector', 'CascadeRCNN', 'FasterRCNN', 'FCOS', 'GFL', 'RPN', 'RetinaNet',
           'SSD', 'SingleStageDetector', 'TwoStageDetector', 'YOLOX']
