"""Detection confusion matrix: ground-truth class (rows) against predicted class (columns)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmssd.structures.bbox import bbox_overlaps_np


def detection_confusion_matrix(results: Sequence[Sequence[np.ndarray]],
                               gt_bboxes: Sequence[np.ndarray],
                               gt_labels: Sequence[np.ndarray], num_classes: int,
                               score_thr: float = 0.3, tp_iou_thr: float = 0.5) -> np.ndarray:
    """Count detections by (ground-truth class, predicted class), mmdetection's rules.

    For each image and each prediction scoring at least ``score_thr``: every ground-truth
    box it overlaps with IoU >= ``tp_iou_thr`` adds one at ``[gt class, predicted class]``
    (a true positive when the classes agree, which marks that box found); a prediction
    overlapping none adds one at ``[background, predicted class]``. Ground-truth boxes
    no prediction of their class found add one at ``[gt class, background]``.

    Args:
        results: per image, a list over classes of ``(n, 5)`` ``[x1, y1, x2, y2, score]``.
        gt_bboxes: per image, ``(G, 4)`` boxes.
        gt_labels: per image, ``(G,)`` class indices.
        num_classes: ``C``.
        score_thr: smallest prediction score counted.
        tp_iou_thr: IoU from which a prediction matches a ground-truth box.

    Returns:
        ``(C + 1, C + 1)`` int64 counts; index ``C`` is the background.
    """
    if not len(results) == len(gt_bboxes) == len(gt_labels):
        raise ValueError(f'{len(results)} results for {len(gt_bboxes)} ground-truth images')
    matrix = np.zeros((num_classes + 1, num_classes + 1), np.int64)
    for result, bboxes, labels in zip(results, gt_bboxes, gt_labels, strict=True):
        if len(result) != num_classes:
            raise ValueError(f'a result has {len(result)} classes, expected {num_classes}')
        bboxes = np.asarray(bboxes, np.float32).reshape(-1, 4)
        labels = np.asarray(labels, np.int64).reshape(-1)
        found = np.zeros(len(labels), bool)
        for det_label, dets in enumerate(result):
            dets = np.asarray(dets, np.float32).reshape(-1, 5)
            dets = dets[dets[:, 4] >= score_thr]
            ious = bbox_overlaps_np(dets[:, :4], bboxes)
            for row in ious:
                matched = np.flatnonzero(row >= tp_iou_thr)
                if len(matched) == 0:
                    matrix[num_classes, det_label] += 1
                    continue
                for gt_index in matched:
                    matrix[labels[gt_index], det_label] += 1
                    if labels[gt_index] == det_label:
                        found[gt_index] = True
        for label in labels[~found]:
            matrix[label, num_classes] += 1
    return matrix
