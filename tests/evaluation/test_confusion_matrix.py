"""detection_confusion_matrix on hand-made cases."""
from __future__ import annotations

import numpy as np
import pytest

from mmssd.evaluation import detection_confusion_matrix


def dets(*rows) -> np.ndarray:
    return np.array(rows, np.float32).reshape(-1, 5)


def test_true_positive_confusion_false_positive_and_miss():
    gt_bboxes = [np.array([[0, 0, 10, 10], [20, 20, 40, 40], [50, 50, 60, 60]], np.float32)]
    gt_labels = [np.array([0, 1, 1])]
    class0 = dets([0, 0, 10, 10, 0.9],        # on gt 0 (class 0): TP
                  [20, 20, 40, 41, 0.8],      # on gt 1 (class 1): confusion
                  [100, 100, 110, 110, 0.7])  # on nothing: FP
    class1 = dets([0, 0, 10, 10, 0.1])        # below score_thr: ignored
    result = [[class0, class1]]
    matrix = detection_confusion_matrix(result, gt_bboxes, gt_labels, 2, score_thr=0.3)
    expected = np.array([[1, 0, 0],     # gt class 0: found by class 0
                         [1, 0, 2],     # gt class 1: once called class 0, both missed
                         [1, 0, 0]])    # background: one false class-0 box
    np.testing.assert_array_equal(matrix, expected)


def test_iou_threshold_decides_matches():
    gt = [np.array([[0, 0, 10, 10]], np.float32)]
    result = [[dets([0, 0, 10, 20, 0.9])]]  # IoU 0.5
    assert detection_confusion_matrix(result, gt, [np.array([0])], 1, tp_iou_thr=0.5)[0, 0] == 1
    matrix = detection_confusion_matrix(result, gt, [np.array([0])], 1, tp_iou_thr=0.6)
    np.testing.assert_array_equal(matrix, [[0, 1], [1, 0]])


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match='ground-truth images'):
        detection_confusion_matrix([[dets()]], [], [], 1)
