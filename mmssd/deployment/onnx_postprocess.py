"""The post-step of an exported SSD: per-level top-k, rescaling and per-class NMS."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mmssd.models.dense_heads.anchor_head import AnchorHead
from mmssd.models.utils import bbox2result, multiclass_nms
from mmssd.models.utils.cfg_keys import check_cfg_keys, require_cfg_key
from mmssd.models.utils.mlvl_outputs import level_topk, take_rows


def postprocess_detections(boxes: np.ndarray, scores: np.ndarray,
                           num_level_anchors: Sequence[int], test_cfg: dict,
                           scale_factors: np.ndarray | None = None) -> list[list[np.ndarray]]:
    """Turn the exported outputs into per-class detections, as ``SSDHead.get_bboxes`` does.

    The exported graph decodes every anchor, so only the selection differs from
    :meth:`~mmssd.models.dense_heads.AnchorHead.mlvl_topk_decode`: the same per-level
    top-k (:func:`~mmssd.models.utils.mlvl_outputs.level_topk`), then the same
    per-class NMS.

    Args:
        boxes: ``(B, N, 4)`` decoded boxes in network-input pixels.
        scores: ``(B, N, C + 1)`` softmax scores, background last.
        num_level_anchors: anchors per level (:attr:`SSDOnnxModel.num_level_anchors`).
        test_cfg: the head's ``test_cfg`` (``nms_pre``, ``score_thr``, ``nms``,
            ``max_per_img``, ``min_bbox_size``; others raise a ``ConfigError``).
        scale_factors: ``(B, 4)`` ``[w, h, w, h]`` factors from original image to network
            input; boxes are divided by them (``None``: keep input pixels).

    Returns:
        Per image, a list over the ``C`` classes of float32 ``(n, 5)`` arrays
        ``[x1, y1, x2, y2, score]``.
    """
    check_cfg_keys(test_cfg, AnchorHead.TEST_CFG_KEYS, 'test_cfg')
    score_thr = require_cfg_key(test_cfg, 'score_thr', 'test_cfg')
    nms_cfg = require_cfg_key(test_cfg, 'nms', 'test_cfg')
    boxes_t = torch.as_tensor(np.asarray(boxes, np.float32))
    scores_t = torch.as_tensor(np.asarray(scores, np.float32))
    if sum(num_level_anchors) != boxes_t.size(1):
        raise ValueError(f'{boxes_t.size(1)} boxes but the levels hold '
                         f'{sum(num_level_anchors)} anchors')
    num_classes = scores_t.size(-1) - 1
    kept_boxes, kept_scores = [], []
    for level_boxes, level_scores in zip(boxes_t.split(list(num_level_anchors), dim=1),
                                         scores_t.split(list(num_level_anchors), dim=1),
                                         strict=True):
        topk_inds = level_topk(level_scores, test_cfg.get('nms_pre', -1))
        if topk_inds is not None:
            level_boxes = take_rows(level_boxes, topk_inds)
            level_scores = take_rows(level_scores, topk_inds)
        kept_boxes.append(level_boxes)
        kept_scores.append(level_scores)
    all_boxes, all_scores = torch.cat(kept_boxes, dim=1), torch.cat(kept_scores, dim=1)
    if scale_factors is not None:
        all_boxes = all_boxes / torch.as_tensor(
            np.asarray(scale_factors, np.float32).reshape(-1, 1, 4))
    results = []
    for image_boxes, image_scores in zip(all_boxes, all_scores, strict=True):
        dets, labels = multiclass_nms(image_boxes, image_scores, score_thr, nms_cfg,
                                      test_cfg.get('max_per_img', -1),
                                      test_cfg.get('min_bbox_size', 0))
        results.append(bbox2result(dets, labels, num_classes))
    return results
