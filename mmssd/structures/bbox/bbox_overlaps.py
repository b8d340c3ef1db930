"""Pairwise overlaps of ``[x1, y1, x2, y2]`` boxes: the one home of IoU in mmssd.

- :func:`bbox_overlaps` (torch): IoU / IoF / GIoU, batched over leading dimensions, used
  by the assigners (``BboxOverlaps2D``) and the GIoU loss.
- :func:`bbox_overlaps_np` (numpy, float32): IoU as mmdetection 2.x's evaluation and
  ``MinIoURandomCrop`` compute it, with the legacy ``+1`` pixel convention for VOC.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def bbox_overlaps(bboxes1: Tensor, bboxes2: Tensor, mode: str = 'iou', is_aligned: bool = False,
                  eps: float = 1e-6) -> Tensor:
    """Overlaps between two sets of ``[x1, y1, x2, y2]`` boxes (mmdetection 2.x semantics).

    Args:
        bboxes1: ``(..., M, 4)``.
        bboxes2: ``(..., N, 4)``; leading dimensions broadcast against ``bboxes1``'s.
        mode: ``'iou'`` (intersection over union), ``'iof'`` (intersection over the area
            of ``bboxes1``) or ``'giou'``.
        is_aligned: if True, ``M == N`` and the result pairs box ``i`` with box ``i``.
        eps: lower bound of the denominator.

    Returns:
        ``(..., M, N)``, or ``(..., M)`` when ``is_aligned``.
    """
    if mode not in ('iou', 'iof', 'giou'):
        raise ValueError(f"mode must be 'iou', 'iof' or 'giou', got {mode!r}")
    area1 = (bboxes1[..., 2] - bboxes1[..., 0]) * (bboxes1[..., 3] - bboxes1[..., 1])
    area2 = (bboxes2[..., 2] - bboxes2[..., 0]) * (bboxes2[..., 3] - bboxes2[..., 1])
    if is_aligned:
        c1 = [bboxes1[..., i] for i in range(4)]
        c2 = [bboxes2[..., i] for i in range(4)]
    else:
        c1 = [bboxes1[..., :, None, i] for i in range(4)]
        c2 = [bboxes2[..., None, :, i] for i in range(4)]
        area1, area2 = area1[..., :, None], area2[..., None, :]
    # Per coordinate (no (..., M, N, 2) intermediates) and, when no gradient is needed, in
    # place: the (B, G, N) overlaps of a batch are memory-bound on CPU.
    inplace = not (torch.is_grad_enabled() and (bboxes1.requires_grad or bboxes2.requires_grad))
    inter_w = torch.min(c1[2], c2[2]) - torch.max(c1[0], c2[0])
    inter_h = torch.min(c1[3], c2[3]) - torch.max(c1[1], c2[1])
    if inplace:
        overlap = inter_w.clamp_(min=0).mul_(inter_h.clamp_(min=0))
    else:
        overlap = inter_w.clamp(min=0) * inter_h.clamp(min=0)
    if mode == 'iof':
        union = area1.clamp(min=eps)
    elif inplace:
        union = (area1 + area2).sub_(overlap).clamp_(min=eps)
    else:
        union = (area1 + area2 - overlap).clamp(min=eps)
    ious = overlap.div_(union) if inplace and mode != 'giou' else overlap / union
    if mode != 'giou':
        return ious
    enclose_w = (torch.max(c1[2], c2[2]) - torch.min(c1[0], c2[0])).clamp(min=0)
    enclose_h = (torch.max(c1[3], c2[3]) - torch.min(c1[1], c2[1])).clamp(min=0)
    enclose_area = (enclose_w * enclose_h).clamp(min=eps)
    return ious - (enclose_area - union) / enclose_area


def bbox_areas_np(bboxes: np.ndarray, extra_length: float = 0.0) -> np.ndarray:
    """Areas of ``bboxes (N, 4)`` -> ``(N,)`` float32.

    ``extra_length=1`` is the legacy (VOC) convention where a box covering pixels
    ``x1..x2`` is ``x2 - x1 + 1`` wide.
    """
    bboxes = np.asarray(bboxes, dtype=np.float32).reshape(-1, 4)
    return ((bboxes[:, 2] - bboxes[:, 0] + extra_length)
            * (bboxes[:, 3] - bboxes[:, 1] + extra_length))


def bbox_overlaps_np(bboxes1: np.ndarray, bboxes2: np.ndarray,
                     use_legacy_coordinate: bool = False, eps: float = 1e-6) -> np.ndarray:
    """IoU of every pair of ``bboxes1 (N, 4)`` and ``bboxes2 (K, 4)`` -> ``(N, K)`` float32.

    Computed in float32 with the same operations as mmdetection 2.x
    (``mmdet.core.evaluation.bbox_overlaps``) so that IoUs sitting exactly on a threshold
    compare the same way; the union is clamped to ``eps``. ``use_legacy_coordinate``: the
    ``+1`` pixel convention (VOC).
    """
    extra = 1.0 if use_legacy_coordinate else 0.0
    b1 = np.asarray(bboxes1, dtype=np.float32).reshape(-1, 4)
    b2 = np.asarray(bboxes2, dtype=np.float32).reshape(-1, 4)
    if len(b1) == 0 or len(b2) == 0:
        return np.zeros((len(b1), len(b2)), dtype=np.float32)
    x_start = np.maximum(b1[:, None, 0], b2[None, :, 0])
    y_start = np.maximum(b1[:, None, 1], b2[None, :, 1])
    x_end = np.minimum(b1[:, None, 2], b2[None, :, 2])
    y_end = np.minimum(b1[:, None, 3], b2[None, :, 3])
    overlap = (np.maximum(x_end - x_start + extra, 0)
               * np.maximum(y_end - y_start + extra, 0))
    union = bbox_areas_np(b1, extra)[:, None] + bbox_areas_np(b2, extra)[None, :] - overlap
    return (overlap / np.maximum(union, np.float32(eps))).astype(np.float32, copy=False)
