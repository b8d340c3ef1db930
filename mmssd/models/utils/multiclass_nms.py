"""Per-class non-maximum suppression of one image's detections."""
from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import batched_nms


def multiclass_nms(multi_bboxes: Tensor, multi_scores: Tensor, score_thr: float, nms_cfg: dict,
                   max_num: int = -1, min_bbox_size: float = 0) -> tuple[Tensor, Tensor]:
    """NMS per class, mmdetection 2.x style.

    Args:
        multi_bboxes: ``(n, 4)`` boxes shared by all classes, or ``(n, C*4)``.
        multi_scores: ``(n, C+1)`` scores; the last column (background) is dropped.
        score_thr: keep (box, class) pairs scoring above this.
        nms_cfg: ``dict(type='nms', iou_threshold=...)``; ``class_agnostic=True`` suppresses
            across classes.
        max_num: keep at most this many detections (``-1``: all).
        min_bbox_size: drop boxes whose width or height is below this (``0``: keep all).

    Returns:
        ``dets (k, 5)`` ``[x1, y1, x2, y2, score]`` sorted by score, and ``labels (k,)``.
    """
    nms_cfg = dict(nms_cfg)
    nms_type = nms_cfg.pop('type', 'nms')
    if nms_type != 'nms':
        raise ValueError(f"only nms type 'nms' is supported, got {nms_type!r}")
    iou_threshold = nms_cfg.pop('iou_threshold')
    class_agnostic = nms_cfg.pop('class_agnostic', False)
    if nms_cfg:
        raise ValueError(f'unsupported nms options: {sorted(nms_cfg)}')
    num_classes = multi_scores.size(1) - 1
    if multi_bboxes.size(1) > 4:
        bboxes = multi_bboxes.view(multi_scores.size(0), -1, 4)
    else:
        bboxes = multi_bboxes[:, None].expand(multi_scores.size(0), num_classes, 4)
    scores = multi_scores[:, :-1]
    labels = torch.arange(num_classes, dtype=torch.long, device=scores.device)
    labels = labels.view(1, -1).expand_as(scores)
    bboxes, scores, labels = bboxes.reshape(-1, 4), scores.reshape(-1), labels.reshape(-1)
    keep_mask = scores > score_thr
    if min_bbox_size > 0:
        widths, heights = bboxes[:, 2] - bboxes[:, 0], bboxes[:, 3] - bboxes[:, 1]
        keep_mask &= (widths >= min_bbox_size) & (heights >= min_bbox_size)
    bboxes, scores, labels = bboxes[keep_mask], scores[keep_mask], labels[keep_mask]
    if bboxes.numel() == 0:
        return torch.cat([bboxes, scores[:, None]], -1), labels
    groups = torch.zeros_like(labels) if class_agnostic else labels
    keep = batched_nms(bboxes.float(), scores.float(), groups, iou_threshold)
    if max_num > 0:
        keep = keep[:max_num]
    return torch.cat([bboxes[keep], scores[keep, None]], -1), labels[keep]
