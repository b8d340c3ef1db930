"""ATSS (an alias of :class:`~mmssd.models.detectors.SingleStageDetector`, as in mmdetection)."""
from __future__ import annotations

from mmssd.registry import MODELS

from .single_stage import SingleStageDetector


@MODELS.register_module()
class ATSS(SingleStageDetector):
    """ATSS: backbone, neck and ``ATSSHead``, registered under mmdetection's name."""
