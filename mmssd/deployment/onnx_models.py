"""Detectors as exportable modules: images in, padded detections out, NMS in the graph.

Every exported graph takes ``img (B, 3, H, W)`` (normalized as the test pipeline makes
it, images padded to one size) and ``img_shape (B, 2)`` float ``[h, w]`` (each image's
size inside the padding, what boxes are clipped to) and returns ``dets (B, M, 5)``
``[x1, y1, x2, y2, score]`` in network-input pixels (divide by ``scale_factor`` for the
original image's) and ``labels (B, M)``, padded by :func:`multiclass_nms_padded`.

* :class:`DenseOnnxModel`: any single-stage detector or RPN whose head keeps the dense
  decoding contract (``docs/architecture.md``, "Exporting to ONNX").
* :class:`TwoStageOnnxModel`: two-stage detectors through their RPN head and the RoI
  head's batched test contract (``test_forward``, ``final_bbox_head.decode_rois``).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmssd.models.dense_heads.rpn_head import ProposalCfg, RPNHead
from mmssd.models.detectors import RPN, SingleStageDetector, TwoStageDetector
from mmssd.models.utils import BatchImgShapes
from mmssd.models.utils.cfg_keys import require_cfg_key

from .onnx_nms import multiclass_nms_padded

#: detector classes with an export path, and the module that exports them
EXPORTABLE = ((SingleStageDetector, 'DenseOnnxModel'), (RPN, 'DenseOnnxModel'),
              (TwoStageDetector, 'TwoStageOnnxModel'))


class ExportError(ValueError):
    """A model or setting that has no ONNX export; the message says what does."""


def nms_settings(cfg: dict | None, where: str) -> tuple[float, float, int]:
    """``(score_thr, iou_threshold, max_per_img)`` of a detection ``test_cfg`` that the
    graph's NMS reproduces; other settings raise :class:`ExportError`."""
    if cfg is None:
        raise ExportError(f'{where} is missing: the exported NMS needs score_thr, nms and '
                          'max_per_img')
    nms_cfg = require_cfg_key(cfg, 'nms', where)
    if nms_cfg.get('type', 'nms') != 'nms' or nms_cfg.get('class_agnostic', False):
        raise ExportError(f"{where}.nms={dict(nms_cfg)}: the exported graph holds per-class "
                          "hard NMS only; set nms=dict(type='nms', iou_threshold=...)")
    if cfg.get('min_bbox_size', 0) > 0:
        raise ExportError(f"{where}.min_bbox_size={cfg['min_bbox_size']}: not exported "
                          '(it applies to rescaled boxes); set it to 0')
    max_per_img = int(cfg.get('max_per_img', -1))
    if max_per_img <= 0:
        raise ExportError(f'{where}.max_per_img={max_per_img}: the exported outputs have a '
                          'fixed number of rows; set max_per_img (e.g. 100)')
    score_thr = float(require_cfg_key(cfg, 'score_thr', where))
    if score_thr < 0:
        raise ExportError(f'{where}.score_thr={score_thr}: must be >= 0 (a padded row is '
                          'told by its score 0)')
    return score_thr, float(nms_cfg['iou_threshold']), max_per_img


def rpn_proposals(head: RPNHead, outs: tuple, img_metas: BatchImgShapes,
                  cfg: ProposalCfg) -> Tensor:
    """An RPN head's proposals in the graph: ``(B, P, 5)`` ``[x1, y1, x2, y2, objectness]``,
    ``P = max_per_img``, zero rows past an image's proposals.

    :meth:`RPNHead.get_proposals`' selection: the per-level top ``nms_pre``
    (``mlvl_topk_decode``), boxes with a side ``<= min_bbox_size`` dropped, NMS within each
    level (the level is the NMS class; one class with ``nms_across_levels``).
    """
    bboxes, scores, level_ids = head.mlvl_topk_decode(*outs, img_metas, cfg.nms_pre)
    objectness = scores[..., 0]  # (B, n)
    if cfg.min_bbox_size >= 0:
        sizes = bboxes[..., 2:] - bboxes[..., :2]
        objectness = objectness * (sizes > cfg.min_bbox_size).all(dim=-1).to(objectness)
    if cfg.across_levels:
        class_scores = objectness[..., None]
    else:
        levels = torch.arange(head.prior_generator.num_levels, device=level_ids.device)
        one_hot = (level_ids[:, None] == levels[None, :]).to(objectness)  # (n, L)
        class_scores = objectness[..., None] * one_hot[None]
    dets, _ = multiclass_nms_padded(bboxes, class_scores, 0.0, cfg.iou_threshold,
                                    cfg.max_per_img)
    return dets


class DenseOnnxModel(nn.Module):
    """A single-stage detector (SSD, SSDLite, RetinaNet, ... any head with the dense
    decoding contract) or an RPN, for tracing to ONNX.

    ``forward(img (B, 3, H, W), img_shape (B, 2))`` -> ``dets (B, M, 5)``, ``labels (B, M)``
    (module docstring): the detector's ``forward_dense``, the head's
    ``mlvl_topk_decode(*outs, img_metas, nms_pre)`` with ``img_metas`` a
    :class:`~mmssd.models.utils.BatchImgShapes` (a fourth output, when the head gives one,
    holds score factors such as centerness), then :func:`multiclass_nms_padded` with the
    head's ``test_cfg``. An RPN gives its proposals (labels all 0).

    Args:
        detector: a built :class:`SingleStageDetector` or :class:`RPN`.
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector
        head = detector.bbox_head
        self.is_rpn = isinstance(detector, RPN)
        if self.is_rpn:
            if head.test_proposal_cfg is None:
                raise ExportError('model.test_cfg.rpn is missing: the RPN export needs it')
            self.max_per_img = head.test_proposal_cfg.max_per_img
        else:
            self.nms = nms_settings(head.test_cfg, 'model.test_cfg')
            self.max_per_img = self.nms[2]

    def forward(self, img: Tensor, img_shape: Tensor) -> tuple[Tensor, Tensor]:
        head = self.detector.bbox_head
        outs = self.detector.forward_dense(img)
        metas = BatchImgShapes(img_shape)
        if self.is_rpn:
            dets = rpn_proposals(head, outs, metas, head.test_proposal_cfg)
            return dets, torch.zeros_like(dets[..., 0], dtype=torch.long)
        decoded = head.mlvl_topk_decode(*outs, metas, head.test_cfg.get('nms_pre', -1))
        bboxes, scores = decoded[0], decoded[1][..., :-1]
        score_thr, iou_threshold, max_per_img = self.nms
        if len(decoded) > 3:  # score factors (B, n), e.g. FCOS's centerness: as multiclass_nms,
            # applied to the candidates above score_thr, before NMS
            scores = torch.where(scores > score_thr, scores * decoded[3][..., None],
                                 torch.zeros_like(scores))
            score_thr = 0.0
        return multiclass_nms_padded(bboxes, scores, score_thr, iou_threshold, max_per_img)


class TwoStageOnnxModel(nn.Module):
    """A two-stage detector (Faster R-CNN, Cascade R-CNN, ...) for tracing to ONNX.

    ``forward(img, img_shape)`` as :class:`DenseOnnxModel`: features, the RPN's padded
    proposals (:func:`rpn_proposals`, ``P`` per image), all ``B * P`` RoIs through the RoI
    head's ``test_forward`` (every stage of a cascade; RoI features by ONNX ``RoiAlign``),
    decoded and clipped by ``final_bbox_head.decode_rois``; the padding proposals' scores
    are zeroed, then :func:`multiclass_nms_padded` with ``test_cfg.rcnn``.

    Args:
        detector: a built :class:`TwoStageDetector` with an RPN head.
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        if not detector.with_rpn or detector.rpn_head.test_proposal_cfg is None:
            raise ExportError('a two-stage detector exports with its rpn_head and '
                              'model.test_cfg.rpn (precomputed proposals are not exported)')
        self.detector = detector
        self.nms = nms_settings(detector.roi_head.test_cfg, 'model.test_cfg.rcnn')
        self.max_per_img = self.nms[2]

    def forward(self, img: Tensor, img_shape: Tensor) -> tuple[Tensor, Tensor]:
        det = self.detector
        feats = det.extract_feat(img)
        metas = BatchImgShapes(img_shape)
        proposals = rpn_proposals(det.rpn_head, det.rpn_head(feats), metas,
                                  det.rpn_head.test_proposal_cfg)  # (B, P, 5)
        batch, num = proposals.shape[0], proposals.shape[1]
        img_inds = torch.arange(batch, device=img.device)[:, None].expand(-1, num)
        rois = torch.cat([img_inds.reshape(-1, 1).to(proposals),
                          proposals[..., :4].reshape(-1, 4)], dim=1)  # (B * P, 5)
        rois, cls_score, bbox_pred = det.roi_head.test_forward(feats, rois, metas)
        bboxes, scores = det.roi_head.final_bbox_head.decode_rois(
            rois, cls_score, bbox_pred, img_shape.to(rois)[img_inds.reshape(-1)])
        num_classes = scores.shape[1] - 1
        valid = (proposals[..., 4] > 0).to(scores)[..., None]  # (B, P, 1)
        scores = scores[:, :-1].reshape(batch, num, num_classes) * valid
        bboxes = bboxes.reshape(batch, num, -1, 4)
        if bboxes.shape[2] == 1:  # class-agnostic regression: one box for every class
            bboxes = bboxes[:, :, 0]
        return multiclass_nms_padded(bboxes, scores, *self.nms)


def build_onnx_model(detector: nn.Module) -> nn.Module:
    """The exportable module of ``detector`` (:class:`DenseOnnxModel` or
    :class:`TwoStageOnnxModel`), in eval mode.

    Raises:
        ExportError: a detector type with no export path, naming the types that have one.
    """
    if isinstance(detector, TwoStageDetector):
        return TwoStageOnnxModel(detector).eval()
    if isinstance(detector, (SingleStageDetector, RPN)):
        return DenseOnnxModel(detector).eval()
    from mmssd.registry import MODELS
    bases = tuple(cls for cls, _ in EXPORTABLE)
    names = sorted(name for name, cls in MODELS.module_dict.items()
                   if isinstance(cls, type) and issubclass(cls, bases))
    raise ExportError(f'{type(detector).__name__} has no ONNX export path; the detector '
                      f'types that export are: {", ".join(names)}')
