"""GFL (an alias of :class:`~mmssd.models.detectors.SingleStageDetector`, as in mmdetection)."""
from __future__ import annotations

from mmssd.registry import MODELS

from .single_stage import SingleStageDetector


@MODELS.register_module()
class GFL(SingleStageDetector):
    """GFL: backbone, neck and ``GFLHead``, registered under mmdetection's name."""
