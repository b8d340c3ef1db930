"""Detectors (registered in ``MODELS``)."""
from .base import BaseDetector
from .rpn import RPN
from .single_stage import SSD, RetinaNet, SingleStageDetector
from .two_stage import FasterRCNN, TwoStageDetector

__all__ = ['BaseDetector', 'FasterRCNN', 'RPN', 'RetinaNet', 'SSD', 'SingleStageDetector',
           'TwoStageDetector']
