"""IoU of two sets of boxes in numpy, as mmdetection 2.x's evaluation computes it."""
from __future__ import annotations

import numpy as np


def box_areas(boxes: np.ndarray, extra_length: float = 0.0) -> np.ndarray:
    """Areas of ``boxes`` (N, 4) xyxy -> (N,) float32.

    ``extra_length=1`` is the legacy (VOC) convention where a box covering pixels
    ``x1..x2`` is ``x2 - x1 + 1`` wide.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return ((boxes[:, 2] - boxes[:, 0] + extra_length)
            * (boxes[:, 3] - boxes[:, 1] + extra_length))


def box_overlaps(boxes1: np.ndarray, boxes2: np.ndarray,
                 use_legacy_coordinate: bool = False, eps: float = 1e-6) -> np.ndarray:
    """IoU of every pair of ``boxes1`` (N, 4) and ``boxes2`` (K, 4), xyxy -> (N, K) float32.

    Computed in float32 with the same operations as mmdetection 2.x
    (``mmdet.core.evaluation.bbox_overlaps``) so that IoUs sitting exactly on a
    threshold compare the same way; the union is clamped to ``eps``.
    """
    extra = 1.0 if use_legacy_coordinate else 0.0
    b1 = np.asarray(boxes1, dtype=np.float32).reshape(-1, 4)
    b2 = np.asarray(boxes2, dtype=np.float32).reshape(-1, 4)
    if len(b1) == 0 or len(b2) == 0:
        return np.zeros((len(b1), len(b2)), dtype=np.float32)
    x_start = np.maximum(b1[:, None, 0], b2[None, :, 0])
    y_start = np.maximum(b1[:, None, 1], b2[None, :, 1])
    x_end = np.minimum(b1[:, None, 2], b2[None, :, 2])
    y_end = np.minimum(b1[:, None, 3], b2[None, :, 3])
    overlap = (np.maximum(x_end - x_start + extra, 0)
               * np.maximum(y_end - y_start + extra, 0))
    union = box_areas(b1, extra)[:, None] + box_areas(b2, extra)[None, :] - overlap
    return (overlap / np.maximum(union, np.float32(eps))).astype(np.float32, copy=False)
