"""Soft-NMS (Bodla et al. 2017) as mmcv 1.x's ``soft_nms`` defines it, batched over classes.

mmcv runs one sequential pass over boxes shifted apart by class (``batched_nms``'s
offsets), so boxes of different classes never overlap and each class is decayed on its
own. Here every step picks the best remaining box of *every* class at once and decays
the remaining boxes of each class by their overlap with that class's pick, so the number
of steps is the largest number of boxes one class keeps, not the total.

mmcv's loop, kept exactly: the best box overall is kept whatever its score; every other
box is dropped as soon as its (decayed) score falls below ``min_score``, including boxes
that start below it; a decayed box is compared with ``min_score`` after every pick of its
class. Exact ties go to the lower index (mmcv's order after its swaps may differ there).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from mmssd.structures.bbox import bbox_overlaps

#: mmcv's ``soft_nms`` methods: ``naive`` zeroes, ``linear`` scales by ``1 - IoU`` (both
#: only above ``iou_threshold``), ``gaussian`` scales every box by ``exp(-IoU^2 / sigma)``.
SOFT_NMS_METHODS = ('linear', 'gaussian', 'naive')


def soft_nms_weights(ious: Tensor, method: str, iou_threshold: float, sigma: float) -> Tensor:
    """The factor each box's score is multiplied by, from its ``(k,)`` IoU with the pick."""
    if method == 'gaussian':
        return torch.exp(-ious * ious / sigma)
    above = ious >= iou_threshold
    if method == 'linear':
        return torch.where(above, 1 - ious, torch.ones_like(ious))
    if method == 'naive':
        return (~above).to(ious.dtype)
    raise ValueError(f'soft-NMS method {method!r} is not one of {list(SOFT_NMS_METHODS)}')


def batched_soft_nms(boxes: Tensor, scores: Tensor, labels: Tensor, iou_threshold: float = 0.3,
                     sigma: float = 0.5, min_score: float = 1e-3, method: str = 'linear',
                     max_num: int = -1) -> tuple[Tensor, Tensor]:
    """Soft-NMS within each class.

    Args:
        boxes: ``(n, 4)`` ``[x1, y1, x2, y2]``.
        scores: ``(n,)``.
        labels: ``(n,)`` int64 class of each box (all zeros: class-agnostic).
        iou_threshold: IoU from which ``linear`` / ``naive`` decay a box.
        sigma: ``gaussian``'s width.
        min_score: boxes decayed below this are dropped.
        method: one of :data:`SOFT_NMS_METHODS`.
        max_num: stop once the best ``max_num`` are known (``<= 0``: all).

    Returns:
        ``keep (k,)`` indices into the input and ``(k,)`` their decayed scores, by
        decreasing decayed score (ties by index).
    """
    n = scores.numel()
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=scores.device), scores.new_zeros(0)
    boxes, current = boxes.float(), scores.float().clone()
    labels = labels.long()
    num_groups = int(labels.max()) + 1
    index = torch.arange(n, device=scores.device)
    alive = current >= min_score
    alive[current.argmax()] = True  # mmcv keeps its first pick whatever its score
    kept, kept_scores = [], []
    while bool(alive.any()):
        masked = torch.where(alive, current, current.new_tensor(-math.inf))
        group_best = masked.new_full((num_groups,), -math.inf).scatter_reduce(
            0, labels, masked, 'amax')
        is_best = alive & (masked == group_best[labels])
        first = index.new_full((num_groups,), n).scatter_reduce(
            0, labels[is_best], index[is_best], 'amin')
        picks = first[first < n]  # (g,) one per class with boxes left
        kept.append(picks)
        kept_scores.append(current[picks])
        alive[picks] = False
        pick_of_group = index.new_full((num_groups,), -1)
        pick_of_group[labels[picks]] = picks
        rest = alive.nonzero().view(-1)
        if rest.numel():
            ious = bbox_overlaps(boxes[rest], boxes[pick_of_group[labels[rest]]],
                                 is_aligned=True)
            current[rest] *= soft_nms_weights(ious, method, iou_threshold, sigma)
            alive[rest] = current[rest] >= min_score
        if max_num > 0 and _best_known(torch.cat(kept_scores), current[alive], max_num):
            break
    keep, keep_scores = torch.cat(kept), torch.cat(kept_scores)
    by_index = keep.argsort()
    keep, keep_scores = keep[by_index], keep_scores[by_index]
    order = keep_scores.argsort(descending=True, stable=True)
    if max_num > 0:
        order = order[:max_num]
    return keep[order], keep_scores[order]


def _best_known(kept_scores: Tensor, remaining: Tensor, max_num: int) -> bool:
    """True when ``max_num`` kept boxes score at least as high as any box left (scores only
    fall, so no later pick can rank above them)."""
    if kept_scores.numel() < max_num:
        return False
    ceiling = remaining.max() if remaining.numel() else kept_scores.new_tensor(-math.inf)
    return int((kept_scores > ceiling).sum()) >= max_num
