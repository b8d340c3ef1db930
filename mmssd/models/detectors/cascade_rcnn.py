"""Cascade R-CNN: a two-stage detector whose RoI head refines boxes in several stages."""
from __future__ import annotations

from mmssd.registry import MODELS

from .two_stage import TwoStageDetector


@MODELS.register_module()
class CascadeRCNN(TwoStageDetector):
    """Cascade R-CNN (Cai & Vasconcelos 2018): a :class:`TwoStageDetector` with an RPN
    head and a ``CascadeRoIHead`` (``train_cfg.rcnn`` is a list with one dict per stage),
    as in mmdetection, registered under its name. Losses of stage ``s`` are logged as
    ``s{s}.loss_cls`` etc.; ``mode='tensor'`` gives every stage's outputs
    (:meth:`TwoStageDetector.forward_tensor`)."""
