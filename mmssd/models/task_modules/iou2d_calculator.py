"""Pairwise IoU / IoF of axis-aligned boxes, batched over any leading dimensions."""
from __future__ import annotations

import torch
from torch import Tensor

from mmssd.registry import TASK_UTILS


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
        lt = torch.max(bboxes1[..., :2], bboxes2[..., :2])
        rb = torch.min(bboxes1[..., 2:], bboxes2[..., 2:])
        union_base = area1 + area2
        a1 = area1
    else:
        lt = torch.max(bboxes1[..., :, None, :2], bboxes2[..., None, :, :2])
        rb = torch.min(bboxes1[..., :, None, 2:], bboxes2[..., None, :, 2:])
        union_base = area1[..., :, None] + area2[..., None, :]
        a1 = area1[..., :, None]
    wh = (rb - lt).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    union = a1 if mode == 'iof' else union_base - overlap
    ious = overlap / union.clamp(min=eps)
    if mode != 'giou':
        return ious
    if is_aligned:
        enclosed_lt = torch.min(bboxes1[..., :2], bboxes2[..., :2])
        enclosed_rb = torch.max(bboxes1[..., 2:], bboxes2[..., 2:])
    else:
        enclosed_lt = torch.min(bboxes1[..., :, None, :2], bboxes2[..., None, :, :2])
        enclosed_rb = torch.max(bboxes1[..., :, None, 2:], bboxes2[..., None, :, 2:])
    enclose_wh = (enclosed_rb - enclosed_lt).clamp(min=0)
    enclose_area = (enclose_wh[..., 0] * enclose_wh[..., 1]).clamp(min=eps)
    return ious - (enclose_area - union) / enclose_area


@TASK_UTILS.register_module()
class BboxOverlaps2D:
    """Callable wrapper of :func:`bbox_overlaps` (the ``iou_calculator`` of assigners)."""

    def __call__(self, bboxes1: Tensor, bboxes2: Tensor, mode: str = 'iou',
                 is_aligned: bool = False) -> Tensor:
        """Overlaps ``(..., M, N)`` of ``bboxes1 (..., M, 4)`` and ``bboxes2 (..., N, 4)``.

        A fifth column (a score) is dropped, as mmdetection does.
        """
        if bboxes1.size(-1) == 5:
            bboxes1 = bboxes1[..., :4]
        if bboxes2.size(-1) == 5:
            bboxes2 = bboxes2[..., :4]
        return bbox_overlaps(bboxes1, bboxes2, mode, is_aligned)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'
