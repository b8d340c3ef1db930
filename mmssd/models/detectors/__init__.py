"""Detectors (registered in ``MODELS``)."""
from .single_stage import SSD, SingleStageDetector

__all__ = ['SSD', 'SingleStageDetector']
