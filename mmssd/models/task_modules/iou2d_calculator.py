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
