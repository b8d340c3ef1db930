"""Predictions and ground truth on one image, told apart by colour."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from mmssd.datasets.pipelines import read_image

from .draw_boxes import BoxColour, draw_result

#: Ground truth is drawn in one colour for all classes (BGR white), under the predictions.
GT_COLOUR: BoxColour = (255, 255, 255)


def draw_gt_and_result(img: np.ndarray | str, result: Sequence[np.ndarray] | None,
                       gt_bboxes: np.ndarray | None, class_names: Sequence[str],
                       score_thr: float = 0.3, gt_colour: BoxColour = GT_COLOUR,
                       gt_thickness: int = 1) -> np.ndarray:
    """Ground-truth boxes in ``gt_colour``, then predicted boxes in their class colours.

    Args:
        img: (H, W, 3) uint8 BGR image or its path.
        result: per class, ``(n, 5)`` predictions (``None``: ground truth only).
        gt_bboxes: ``(G, 4)`` ground-truth boxes ``[x1, y1, x2, y2]`` (``None``: none).
        class_names: names of the classes.
        score_thr: smallest predicted score drawn.
        gt_colour: BGR colour of every ground-truth box.
        gt_thickness: line width of ground-truth boxes (thinner than predictions).

    Returns:
        (H, W, 3) uint8 BGR image.
    """
    canvas = np.ascontiguousarray(read_image(img) if isinstance(img, str) else img.copy())
    if gt_bboxes is not None:
        for box in np.asarray(gt_bboxes, np.float32).reshape(-1, 4):
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            cv2.rectangle(canvas, (x1, y1), (x2, y2), gt_colour, gt_thickness)
    if result is not None:
        canvas = draw_result(canvas, result, class_names, score_thr=score_thr)
    return canvas
