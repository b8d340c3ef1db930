"""Per-image true/false positive assignment of detections to ground truth (VOC rules).

For each class, an image's detections are visited in decreasing score order; each one
takes the ground-truth box of its class with the highest IoU. It is a true positive if
that IoU is >= the threshold and the box is neither ignored nor already taken, a false
positive if the box was already taken or the IoU is too low, and neither if the box is
ignored (VOC 'difficult', or outside the area range being evaluated). A detection that
takes no box counts as a false positive only when its own area is inside the range.
This is mmdetection 2.x's ``tpfp_default``, done for all classes of an image at once.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmssd.structures.bbox import bbox_areas_np, bbox_overlaps_np

#: ``(S, 2)`` area ranges ``[min_area, max_area)`` meaning "every box".
ALL_AREAS = np.array([[-np.inf, np.inf]])


def stack_detections(dets: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-class ``(n_c, 5)`` arrays -> ``(boxes_scores (D, 5) float32, labels (D,) int64)``."""
    arrays = [np.asarray(d, dtype=np.float32).reshape(-1, 5) for d in dets]
    labels = np.repeat(np.arange(len(arrays), dtype=np.int64), [len(a) for a in arrays])
    boxes = np.concatenate(arrays) if arrays else np.zeros((0, 5), np.float32)
    return boxes, labels


def stack_ground_truth(ann: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ann_info`` -> ``(boxes (G, 4) float32, labels (G,) int64, ignored (G,) bool)``.

    The kept boxes come first, then the ignored ones. Ignored boxes are used only when
    ``ann`` has ``labels_ignore`` (as in mmdetection 2.x); without it they are dropped.
    """
    boxes = [np.asarray(ann['bboxes'], dtype=np.float32).reshape(-1, 4)]
    labels = [np.asarray(ann['labels'], dtype=np.int64).reshape(-1)]
    if ann.get('labels_ignore') is not None:
        boxes.append(np.asarray(ann['bboxes_ignore'], dtype=np.float32).reshape(-1, 4))
        labels.append(np.asarray(ann['labels_ignore'], dtype=np.int64).reshape(-1))
    ignored = np.repeat([False, True][:len(boxes)], [len(b) for b in boxes])
    return np.concatenate(boxes), np.concatenate(labels), ignored


def best_gt(det_boxes: np.ndarray, det_labels: np.ndarray, gt_boxes: np.ndarray,
            gt_labels: np.ndarray, iou_thr: float, use_legacy_coordinate: bool) -> np.ndarray:
    """Index of the same-class gt with the highest IoU (first one on ties) for each
    detection, or -1 where that IoU is below ``iou_thr`` or there is none -> (D,) int64."""
    if len(gt_boxes) == 0 or len(det_boxes) == 0:
        return np.full(len(det_boxes), -1, dtype=np.int64)
    ious = bbox_overlaps_np(det_boxes, gt_boxes, use_legacy_coordinate)
    ious[det_labels[:, None] != gt_labels[None, :]] = -np.inf
    best = ious.argmax(axis=1)
    best_iou = ious[np.arange(len(best)), best]
    return np.where(best_iou >= iou_thr, best, -1)


def first_claims(gt_index: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Whether each detection is the highest-scored one to claim its gt -> (D,) bool.

    Detections with ``gt_index == -1`` claim nothing. Equal scores keep input order.
    """
    order = np.argsort(-scores, kind='stable')
    claimed = gt_index[order]
    claiming = np.flatnonzero(claimed >= 0)
    _, first = np.unique(claimed[claiming], return_index=True)
    out = np.zeros(len(gt_index), dtype=bool)
    out[order[claiming[first]]] = True
    return out


def outside(areas: np.ndarray, area_ranges: np.ndarray) -> np.ndarray:
    """``(N,)`` areas vs ``(S, 2)`` ranges ``[min, max)`` -> ``(S, N)`` bool: outside."""
    return (areas[None, :] < area_ranges[:, :1]) | (areas[None, :] >= area_ranges[:, 1:])


def match_image(dets: Sequence[np.ndarray], ann: dict, iou_thr: float,
                area_ranges: np.ndarray = ALL_AREAS, use_legacy_coordinate: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """True and false positives of one image's detections.

    Args:
        dets: per class, ``(n_c, 5)`` ``[x1, y1, x2, y2, score]``.
        ann: ``bboxes`` (N, 4), ``labels`` (N,), and optionally ``bboxes_ignore`` (M, 4)
            with ``labels_ignore`` (M,).
        iou_thr: IoU needed to match.
        area_ranges: ``(S, 2)`` ``[min_area, max_area)`` to evaluate separately.
        use_legacy_coordinate: widths and heights are ``x2 - x1 + 1``.

    Returns:
        ``labels (D,)``, ``scores (D,)``, ``tp (S, D)`` bool, ``fp (S, D)`` bool, with the
        D detections in the order of ``dets`` (class by class).
    """
    boxes, labels = stack_detections(dets)
    gt_boxes, gt_labels, gt_ignored = stack_ground_truth(ann)
    scores = boxes[:, 4]
    gt_index = best_gt(boxes[:, :4], labels, gt_boxes, gt_labels, iou_thr,
                       use_legacy_coordinate)
    matched = gt_index >= 0
    extra = 1.0 if use_legacy_coordinate else 0.0
    gt_skipped = gt_ignored[None, :] | outside(bbox_areas_np(gt_boxes, extra), area_ranges)
    skipped = np.zeros((len(area_ranges), len(boxes)), dtype=bool)
    skipped[:, matched] = gt_skipped[:, gt_index[matched]]
    first = first_claims(gt_index, scores)
    det_inside = ~outside(bbox_areas_np(boxes[:, :4], extra), area_ranges)
    tp = matched & first & ~skipped
    fp = (matched & ~first & ~skipped) | (~matched & det_inside)
    return labels, scores, tp, fp
