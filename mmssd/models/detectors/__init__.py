"""Detectors (registered in ``MODELS``)."""
from .base import BaseDetector
from .cascade_rcnn import CascadeRCNN
from .rpn import RPN
from .single_stage import FCOS, SSD, RetinaNet, SingleStageDetector
from .two_stage import FasterRCNN, TwoStageDetector
from .yolox import YOLOX

__all__ = ['BaseDetector', 'CascadeRCNN', 'FasterRCNN', 'FCOS', 'RPN', 'RetinaNet', 'SSD',
           'SingleStageDetector', 'TwoStageDetector', 'YOLOX']
