"""Detectors (registered in ``MODELS``)."""
from .single_stage import SSD, RetinaNet, SingleStageDetector

__all__ = ['RetinaNet', 'SSD', 'SingleStageDetector']
