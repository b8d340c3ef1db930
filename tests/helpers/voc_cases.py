"""Inputs shared by the VOC mAP tests: ``ann_info`` builders and a case done by hand."""
from __future__ import annotations

import numpy as np


def ann(boxes=(), labels=(), ignore=(), ignore_labels=None) -> dict:
    """An ``ann_info`` dict; ``ignore_labels=None`` leaves out ``labels_ignore``."""
    out = {'bboxes': np.array(boxes, np.float32).reshape(-1, 4),
           'labels': np.array(labels, np.int64).reshape(-1),
           'bboxes_ignore': np.array(ignore, np.float32).reshape(-1, 4)}
    if ignore_labels is not None:
        out['labels_ignore'] = np.array(ignore_labels, np.int64).reshape(-1)
    return out


def dets(*rows) -> np.ndarray:
    """Rows ``[x1, y1, x2, y2, score]`` -> (n, 5) float32 (n may be 0)."""
    return np.array(rows, np.float32).reshape(-1, 5)


# --------------------------------------------------------------------------- by hand
# Class 0 ("cat"), 3 gts of which one is difficult, 5 detections over two images, plus
# an empty image C. Class 1 has no gt at all and one detection (in C).
#   image A: G1 = [0, 0, 10, 10], difficult D1 = [40, 0, 50, 10]
#   image B: G2 = [20, 0, 30, 10]
#   d1 0.9 (A) [0, 0, 10, 10]   IoU(G1) = 1
#   d2 0.8 (A) [40, 0, 50, 10]  IoU(D1) = 1                       -> ignored (neither)
#   d3 0.7 (A) [0, 0, 10, 9]    IoU(G1) = 90/100 = 0.9
#   d4 0.6 (B) [25, 0, 35, 10]  IoU(G2) = 50/150 = 1/3 (legacy: 66/176 = 0.375)
#   d5 0.5 (B) [21, 0, 30, 10]  IoU(G2) = 90/100 = 0.9 (legacy: 110/121)
# num_gts = 2 (the difficult box is not counted), num_dets = 5.
#
# iou_thr = 0.5: d1 TP, d2 -, d3 FP (G1 taken), d4 FP (IoU < 0.5), d5 TP
#   cum tp 1 1 1 1 2, cum fp 0 0 1 2 2
#   recall    1/2 1/2 1/2 1/2 1
#   precision 1   1   1/2 1/3 1/2
#   area: envelope at recall 1/2 is 1, at recall 1 is 1/2: AP = 1/2*1 + 1/2*1/2 = 3/4
#   11 points: t = 0..0.5 (6 points) -> 1, t = 0.6..1 (5 points) -> 1/2:
#       AP = (6 + 5/2) / 11 = 17/22
# iou_thr = 0.3: d1 TP, d2 -, d3 FP, d4 TP (IoU 1/3 >= 0.3), d5 FP (G2 taken by d4)
#   cum tp 1 1 1 2 2, cum fp 0 0 1 1 2
#   recall    1/2 1/2 1/2 1   1
#   precision 1   1   1/2 2/3 1/2
#   area: AP = 1/2*1 + 1/2*2/3 = 5/6
#   11 points: AP = (6 + 5*2/3) / 11 = 28/33
# The legacy (+1) coordinates change the IoUs but none crosses 0.3 or 0.5.
HAND_ANNS = [ann([[0, 0, 10, 10]], [0], [[40, 0, 50, 10]], [0]),
             ann([[20, 0, 30, 10]], [0], [], []),
             ann()]
# detections listed out of score order on purpose
HAND_DETS = [[dets([0, 0, 10, 9, .7], [0, 0, 10, 10, .9], [40, 0, 50, 10, .8]), dets()],
             [dets([25, 0, 35, 10, .6], [21, 0, 30, 10, .5]), dets()],
             [dets(), dets([5, 5, 15, 15, .95])]]
HAND_CURVES = {0.5: ([1 / 2, 1 / 2, 1 / 2, 1 / 2, 1], [1, 1, 1 / 2, 1 / 3, 1 / 2]),
               0.3: ([1 / 2, 1 / 2, 1 / 2, 1, 1], [1, 1, 1 / 2, 2 / 3, 1 / 2])}
HAND_AP = {(0.5, 'area'): 3 / 4, (0.5, '11points'): 17 / 22,
           (0.3, 'area'): 5 / 6, (0.3, '11points'): 28 / 33}
