"""Per-class non-maximum suppression of one image's detections: the one place where an
``nms`` config (``type='nms'`` or ``'soft_nms'``) is dispatched (:func:`batched_nms`)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torchvision.ops import nms

from .cfg_keys import check_nms_cfg, require_cfg_key
from .scale_factors import scale_factors_tensor
from .soft_nms import batched_soft_nms


def multiclass_nms(multi_bboxes: Tensor, multi_scores: Tensor, score_thr: float, nms_cfg: dict,
                   max_num: int = -1, min_bbox_size: float = 0,
                   score_factors: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """NMS per class, mmdetection 2.x style.

    Args:
        multi_bboxes: ``(n, 4)`` boxes shared by all classes, or ``(n, C*4)``.
        multi_scores: ``(n, C+1)`` scores; the last column (background) is dropped.
        score_thr: keep (box, class) pairs scoring above this.
        nms_cfg: ``dict(type='nms', iou_threshold=...)`` or ``dict(type='soft_nms', ...)``
            (:func:`batched_nms`); ``class_agnostic=True`` suppresses across classes;
            ``split_thr`` (an mmcv speed setting) changes nothing. Other keys raise
            :class:`~mmssd.models.utils.cfg_keys.ConfigKeyError`.
        max_num: keep at most this many detections (``-1``: all).
        min_bbox_size: drop boxes whose width or height is below this (``0``: keep all).
        score_factors: ``(n,)`` factors of each box's scores (FCOS's centerness), applied
            after the ``score_thr`` filter and before NMS, as mmdetection 2.x.

    Returns:
        ``dets (k, 5)`` ``[x1, y1, x2, y2, score]`` sorted by score (soft-NMS: the decayed
        score), and ``labels (k,)``.
    """
    check_nms_cfg(nms_cfg, 'nms')
    num_classes = multi_scores.size(1) - 1
    scores = multi_scores[:, :-1]
    keep_mask = scores > score_thr
    if min_bbox_size > 0:
        boxes_view = multi_bboxes.view(multi_scores.size(0), -1, 4)
        widths = boxes_view[..., 2] - boxes_view[..., 0]
        heights = boxes_view[..., 3] - boxes_view[..., 1]
        keep_mask &= (widths >= min_bbox_size) & (heights >= min_bbox_size)
    # the candidates in (box, class) order, as the flattened (n * C) layout would give them
    box_inds, labels = keep_mask.nonzero(as_tuple=True)
    scores = scores[box_inds, labels]
    if score_factors is not None:
        scores = scores * score_factors[box_inds]
    if multi_bboxes.size(1) > 4:
        bboxes = multi_bboxes.view(multi_scores.size(0), num_classes, 4)[box_inds, labels]
    else:
        bboxes = multi_bboxes[box_inds]
    if bboxes.numel() == 0:
        return torch.cat([bboxes, scores[:, None]], -1), labels
    keep, kept_scores = batched_nms(bboxes, scores, labels, nms_cfg, max_num, num_classes)
    return (torch.cat([bboxes[keep], kept_scores.to(scores.dtype)[:, None]], -1),
            labels[keep])


def dense_detections(bboxes: Tensor, scores: Tensor, img_metas: Sequence[dict], cfg: dict,
                     rescale: bool = True, score_factors: Tensor | None = None
                     ) -> list[tuple[Tensor, Tensor]]:
    """The detections of a dense head's decoded candidates, image by image.

    With ``rescale`` the boxes are divided by each image's ``scale_factor`` (back to
    original image pixels); then :func:`multiclass_nms` with ``cfg``'s ``score_thr``,
    ``nms``, ``max_per_img`` and ``min_bbox_size``.

    Args:
        bboxes: ``(B, n, 4)`` candidates.
        scores: ``(B, n, C + 1)`` their scores, background last.
        img_metas: the ``B`` image metas (``scale_factor`` with ``rescale``).
        cfg: the head's test config.
        rescale: map boxes back to original image pixels.
        score_factors: ``(B, n)`` factors of the scores (FCOS's centerness), or None.

    Returns:
        Per image ``(dets (k, 5), labels (k,))``.
    """
    if rescale:
        bboxes = bboxes / scale_factors_tensor(img_metas, bboxes)
    score_thr = require_cfg_key(cfg, 'score_thr', 'test_cfg', 'the score detections must '
                                'exceed')
    nms_cfg = require_cfg_key(cfg, 'nms', 'test_cfg', "e.g. dict(type='nms', "
                              'iou_threshold=0.45)')
    return [
        multiclass_nms(bboxes[i], scores[i], score_thr, nms_cfg, cfg.get('max_per_img', -1),
                       cfg.get('min_bbox_size', 0),
                       None if score_factors is None else score_factors[i])
        for i in range(bboxes.size(0))
    ]


def batched_nms(boxes: Tensor, scores: Tensor, labels: Tensor, nms_cfg: dict,
                max_num: int = -1, num_classes: int | None = None) -> tuple[Tensor, Tensor]:
    """NMS or soft-NMS within each class (mmcv 1.x's ``batched_nms``), as ``nms_cfg`` says.

    Args:
        boxes: ``(k, 4)`` candidates ``[x1, y1, x2, y2]``.
        scores: ``(k,)`` their scores.
        labels: ``(k,)`` int64 classes in ``[0, num_classes)``.
        nms_cfg: ``dict(type='nms', iou_threshold)`` or ``dict(type='soft_nms',
            iou_threshold=0.3, sigma=0.5, min_score=1e-3, method='linear')`` (mmcv's
            defaults), each with ``class_agnostic`` (one NMS over all classes).
        max_num: keep at most this many (``<= 0``: all).
        num_classes: classes of ``labels`` (default ``labels.max() + 1``).

    Returns:
        ``keep (m,)`` indices of the kept candidates by decreasing score and ``(m,)``
        their scores (decayed by soft-NMS; hard NMS keeps them).
    """
    if nms_cfg.get('class_agnostic', False):
        labels = torch.zeros_like(labels)
    if labels.numel() == 0:
        return labels.new_zeros(0), scores[:0]
    if nms_cfg.get('type', 'nms') == 'soft_nms':
        return batched_soft_nms(
            boxes, scores, labels, float(nms_cfg.get('iou_threshold', 0.3)),
            float(nms_cfg.get('sigma', 0.5)), float(nms_cfg.get('min_score', 1e-3)),
            nms_cfg.get('method', 'linear'), max_num)
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    iou_threshold = float(nms_cfg['iou_threshold'])
    boxes_f, scores_f = boxes.float(), scores.float()

    def suppress(inds: Tensor) -> Tensor:
        return per_class_nms(boxes_f[inds], scores_f[inds], labels[inds], num_classes,
                             iou_threshold)
    keep = best_first_nms(suppress, scores_f, max_num)
    return keep, scores[keep]


def best_first_nms(suppress: Callable[[Tensor], Tensor], scores: Tensor,
                   max_num: int) -> Tensor:
    """The first ``max_num`` (all if ``max_num <= 0``) indices that ``suppress`` keeps
    among all ``(k,)`` candidates, by decreasing score, found on the best candidates only.

    Whether greedy NMS keeps a candidate depends only on the candidates scoring higher, so
    the first ``max_num`` kept among the ``m`` best candidates are the first ``max_num``
    kept among all, once at least ``max_num`` are kept there. ``m`` starts at
    ``2 * max_num`` and doubles until that holds or ``m`` would exceed half of the
    candidates, when NMS runs on all of them: with thousands of candidates and
    ``max_num=200`` NMS runs on a few hundred boxes.

    Args:
        suppress: candidate indices ``(m,)`` -> indices into them of those NMS keeps,
            by decreasing score.
        scores: ``(k,)`` candidate scores.
        max_num: detections wanted.
    """
    total = scores.numel()
    num_best = 2 * max_num if max_num > 0 else total
    # a pass on part of the candidates pays off only when it is at most half of them: past
    # that, a pass that falls short costs more than the part it could have saved
    while 2 * num_best <= total:
        best = scores.topk(num_best).indices
        kept = suppress(best)
        if len(kept) >= max_num:
            return best[kept[:max_num]]
        num_best *= 2
    kept = suppress(torch.arange(total, device=scores.device))
    return kept[:max_num] if max_num > 0 else kept


def per_class_nms(boxes: Tensor, scores: Tensor, labels: Tensor, num_classes: int,
                  iou_threshold: float) -> Tensor:
    """NMS within each class; indices of the kept candidates by decreasing score.

    Same result as ``torchvision.ops.batched_nms`` (its per-class variant, which it uses on
    large CPU inputs), without its two passes over all candidates per class: the
    candidates are sorted by class once (stably, so each class keeps its order) and each
    class's contiguous slice goes to ``nms``.

    Args:
        boxes: ``(k, 4)`` candidate boxes.
        scores: ``(k,)`` their scores.
        labels: ``(k,)`` their classes in ``[0, num_classes)``.
        num_classes: number of classes.
        iou_threshold: suppress a box overlapping a kept one of its class by more.
    """
    order = torch.argsort(labels, stable=True)
    counts = torch.bincount(labels, minlength=num_classes).tolist()
    sorted_boxes, sorted_scores = boxes[order], scores[order]
    keep_mask = torch.zeros_like(labels, dtype=torch.bool)
    start = 0
    for count in counts:
        if count:
            kept = nms(sorted_boxes[start:start + count], sorted_scores[start:start + count],
                       iou_threshold)
            keep_mask[order[start + kept]] = True
            start += count
    keep = keep_mask.nonzero().view(-1)
    return keep[scores[keep].sort(descending=True)[1]]
