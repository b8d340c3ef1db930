"""The post-step of an exported SSD: per-level top-k, rescaling and per-class NMS."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mmssd.models.utils import bbox2result, multiclass_nms


def postprocess_detections(boxes: np.ndarray, scores: np.ndarray,
                           num_level_anchors: Sequence[int], test_cfg: dict,
                           scale_factors: np.ndarray | None = None) -> list[list[np.ndarray]]:
    """Turn the exported outputs into per-class detections, as ``SSDHead.get_bboxes`` does.

    Args:
        boxes: ``(B, N, 4)`` decoded boxes in network-input pixels.
        scores: ``(B, N, C + 1)`` softmax scores, background last.
        num_level_anchors: anchors per level (:attr:`SSDOnnxModel.num_level_anchors`).
        test_cfg: the head's ``test_cfg`` (``nms_pre``, ``score_thr``, ``nms``,
            ``max_per_img``, ``min_bbox_size``).
        scale_factors: ``(B, 4)`` ``[w, h, w, h]`` factors from original image to network
            input; boxes are divided by them (``None``: keep input pixels).

    Returns:
        Per image, a list over the ``C`` classes of float32 ``(n, 5)`` arrays
        ``[x1, y1, x2, y2, score]``.
    """
    boxes_t = torch.as_tensor(np.asarray(boxes, np.float32))
    scores_t = torch.as_tensor(np.asarray(scores, np.float32))
    if sum(num_level_anchors) != boxes_t.size(1):
        raise ValueError(f'{boxes_t.size(1)} boxes but the levels hold '
                         f'{sum(num_level_anchors)} anchors')
    num_classes = scores_t.size(-1) - 1
    nms_pre = test_cfg.get('nms_pre', -1)
    results = []
    for i in range(boxes_t.size(0)):
        kept_boxes, kept_scores = [], []
        for level_boxes, level_scores in zip(boxes_t[i].split(list(num_level_anchors)),
                                             scores_t[i].split(list(num_level_anchors)),
                                             strict=True):
            if 0 < nms_pre < level_scores.size(0):
                top = level_scores[:, :-1].max(dim=-1).values.topk(nms_pre).indices
                level_boxes, level_scores = level_boxes[top], level_scores[top]
            kept_boxes.append(level_boxes)
            kept_scores.append(level_scores)
        image_boxes = torch.cat(kept_boxes)
        if scale_factors is not None:
            image_boxes = image_boxes / torch.as_tensor(
                np.asarray(scale_factors[i], np.float32).reshape(1, 4))
        dets, labels = multiclass_nms(image_boxes, torch.cat(kept_scores),
                                      test_cfg['score_thr'], test_cfg['nms'],
                                      test_cfg.get('max_per_img', -1),
                                      test_cfg.get('min_bbox_size', 0))
        results.append(bbox2result(dets, labels, num_classes))
    return results
