"""Test-time augmentation of the heads: each augmentation's predictions, merged into
detections in original image pixels (mmdetection 2.x's ``aug_test_bboxes``).

A test-time-augmented batch is a list over ``A`` augmentations: of inputs, of head outputs
or of features, and ``img_metas[a]``, the ``B`` image metas of augmentation ``a``.
``C`` foreground classes. Results: per image ``(dets (k, 5), labels (k,))``, ``dets``
``[x1, y1, x2, y2, score]`` in original image pixels (in the first augmentation's scaled
pixels when ``rescale`` is False, as mmdetection).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..utils.multiclass_nms import multiclass_nms
from ..utils.scale_factors import scale_factors_tensor
from .merge_augs import bbox_mapping, concat_aug_bboxes, merge_aug_bboxes, per_image_metas


def _to_first_aug_scale(dets: Tensor, img_meta: dict) -> Tensor:
    """``(k, 5)`` detections in original pixels -> times the first augmentation's
    ``scale_factor`` (mmdetection's ``rescale=False`` for test-time augmentation)."""
    factor = scale_factors_tensor([img_meta], dets)[0]  # (1, 4)
    return torch.cat([dets[:, :4] * factor, dets[:, 4:]], dim=1)


def dense_aug_bboxes(head: nn.Module, aug_outs: Sequence[Sequence[Sequence[Tensor]]],
                     img_metas: Sequence[Sequence[dict]], cfg: dict | None = None,
                     rescale: bool = True) -> list[tuple[Tensor, Tensor]]:
    """Detections of a dense (anchor) head under test-time augmentation.

    Per augmentation the head's ``mlvl_topk_decode(*outs, metas, nms_pre)`` gives each
    image's candidates (the ``nms_pre`` best per level, decoded and clipped to that
    augmentation's ``img_shape``; a fourth output, when present, holds per-candidate score
    factors such as FCOS's centerness, for :func:`multiclass_nms`);
    they are mapped back to original image pixels (un-flipped, un-scaled), concatenated
    over the augmentations, and one per-class NMS (``score_thr``, ``nms``,
    ``max_per_img``, ``min_bbox_size`` of ``cfg``, default the head's ``test_cfg``) keeps
    the detections.

    Args:
        head: an ``AnchorHead`` or ``AnchorFreeHead`` (``mlvl_topk_decode``, ``test_cfg``).
        aug_outs: per augmentation the head's outputs, e.g. ``(cls_scores, bbox_preds)``,
            per level ``(B, A * K, H_l, W_l)`` and ``(B, A * 4, H_l, W_l)`` (FCOS adds
            ``centernesses``).
        img_metas: per augmentation, the ``B`` image metas.
        cfg: test config overriding the head's.
        rescale: boxes in original image pixels (else in the first augmentation's scale).
    """
    cfg = head.test_cfg if cfg is None else cfg
    if cfg is None:
        raise RuntimeError(f'{type(head).__name__} needs test_cfg to post-process detections')
    if len(aug_outs) != len(img_metas):
        raise ValueError(f'{len(aug_outs)} augmentations of head outputs but {len(img_metas)} '
                         'of img_metas')
    aug_bboxes, aug_scores, aug_factors = [], [], []
    for outs, metas in zip(aug_outs, img_metas, strict=True):
        decoded = head.mlvl_topk_decode(*outs, metas, cfg.get('nms_pre', -1))
        aug_bboxes.append(decoded[0])  # (B, n_a, 4)
        aug_scores.append(decoded[1])  # (B, n_a, C + 1)
        if len(decoded) > 3:  # score factors (B, n_a), e.g. FCOS's centerness
            aug_factors.append(decoded[3])
    results = []
    for i, metas_i in enumerate(per_image_metas(img_metas)):
        bboxes, scores = concat_aug_bboxes([b[i] for b in aug_bboxes],
                                           [s[i] for s in aug_scores], metas_i)
        factors = torch.cat([f[i] for f in aug_factors]) if aug_factors else None
        dets, labels = multiclass_nms(bboxes, scores, cfg['score_thr'], cfg['nms'],
                                      cfg.get('max_per_img', -1), cfg.get('min_bbox_size', 0),
                                      score_factors=factors)
        results.append((dets if rescale else _to_first_aug_scale(dets, metas_i[0]), labels))
    return results


def rcnn_aug_bboxes(roi_head: nn.Module, aug_feats: Sequence[Sequence[Tensor]],
                    proposal_list: Sequence[Tensor], img_metas: Sequence[Sequence[dict]],
                    rescale: bool = True) -> list[tuple[Tensor, Tensor]]:
    """Detections of an R-CNN RoI head under test-time augmentation.

    Each image's merged proposals (original pixels) are mapped into every augmentation
    (scaled, flipped), the RoI head scores and regresses them there through
    ``roi_head.simple_test_bboxes_raw(x, img_metas, proposals, rescale=False)`` (the
    decoded ``(n, 4 or 4C)`` boxes and ``(n, C + 1)`` scores of every proposal; any
    ``BaseRoIHead``, a cascade included), the boxes are mapped back and boxes and scores
    averaged over the augmentations (:func:`merge_aug_bboxes`), and one per-class NMS
    (``roi_head.test_cfg``: ``score_thr``, ``nms``, ``max_per_img``) keeps the detections.

    Args:
        roi_head: e.g. ``StandardRoIHead``.
        aug_feats: per augmentation the feature maps ``[(B, channels, H_l, W_l)]``.
        proposal_list: per image ``(n_i, 4 or 5)`` proposals in original image pixels
            (``RPNHead.aug_test_rpn``).
        img_metas: per augmentation, the ``B`` image metas.
        rescale: boxes in original image pixels (else in the first augmentation's scale).
    """
    cfg = roi_head.test_cfg
    if cfg is None:
        raise RuntimeError(f'{type(roi_head).__name__}.aug_test needs test_cfg (test_cfg.rcnn)')
    if len(aug_feats) != len(img_metas):
        raise ValueError(f'{len(aug_feats)} augmentations of features but {len(img_metas)} '
                         'of img_metas')
    per_img = per_image_metas(img_metas)
    if len(proposal_list) != len(per_img):
        raise ValueError(f'{len(proposal_list)} proposal sets for {len(per_img)} images')
    aug_bboxes, aug_scores = [], []
    for x, metas in zip(aug_feats, img_metas, strict=True):
        proposals = [bbox_mapping(p[:, :4], meta)
                     for p, meta in zip(proposal_list, metas, strict=True)]
        bboxes, scores = roi_head.simple_test_bboxes_raw(x, metas, proposals, rescale=False)
        aug_bboxes.append(bboxes)  # per image (n_i, 4 or 4C)
        aug_scores.append(scores)  # per image (n_i, C + 1)
    results = []
    for i, metas_i in enumerate(per_img):
        bboxes, scores = merge_aug_bboxes([b[i] for b in aug_bboxes],
                                          [s[i] for s in aug_scores], metas_i)
        if bboxes.size(0) == 0:
            dets, labels = bboxes.new_zeros((0, 5)), bboxes.new_zeros((0,), dtype=torch.long)
        else:
            dets, labels = multiclass_nms(bboxes, scores, cfg['score_thr'], cfg['nms'],
                                          cfg.get('max_per_img', -1))
        results.append((dets if rescale else _to_first_aug_scale(dets, metas_i[0]), labels))
    return results
