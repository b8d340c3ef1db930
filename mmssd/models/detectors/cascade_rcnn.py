"""Cascade R-CNN: a two-stage detector whose RoI head refines boxes in several stages."""
from __future__ import annotations

from torch import Tensor

from mmssd.registry import MODELS

from ..utils import bbox2roi
from .two_stage import NUM_DUMMY_PROPOSALS, TwoStageDetector, dummy_proposals


@MODELS.register_module()
class CascadeRCNN(TwoStageDetector):
    """Cascade R-CNN (Cai & Vasconcelos 2018): a :class:`TwoStageDetector` with an RPN
    head and a ``CascadeRoIHead`` (``train_cfg.rcnn`` is a list with one dict per stage),
    as in mmdetection. Losses of stage ``s`` are logged as ``s{s}.loss_cls`` etc."""

    def forward_tensor(self, img: Tensor) -> tuple:
        """Raw outputs without image metas (FLOP counting, tracing), as mmdetection's
        ``forward_dummy``: the RPN's per-level ``(cls_scores, bbox_preds)``, then every
        stage's ``cls_score (B * 1000, C + 1)`` and ``bbox_pred`` on the same 1000 fixed
        boxes per image."""
        x = self.extract_feat(img)
        rpn_cls, rpn_reg = self.rpn_head(x) if self.with_rpn else ([], [])
        boxes = dummy_proposals(img.shape[-2:], NUM_DUMMY_PROPOSALS, img.device)
        rois = bbox2roi([boxes] * img.size(0))
        outs: tuple = (rpn_cls, rpn_reg)
        for stage in range(self.roi_head.num_stages):
            results = self.roi_head._bbox_forward(stage, x, rois)
            outs += (results['cls_score'], results['bbox_pred'])
        return outs
