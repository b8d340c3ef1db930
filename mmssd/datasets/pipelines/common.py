"""Small helpers shared by the pipeline transforms."""
from __future__ import annotations

import numpy as np

#: Label key that goes with each box key (boxes and labels are filtered together).
BBOX2LABEL = {'gt_bboxes': 'gt_labels', 'gt_bboxes_ignore': 'gt_labels_ignore'}


def check_single_img_field(results: dict, name: str) -> None:
    """Raise unless the results hold one image, under ``img``."""
    if results.get('img_fields', ['img']) != ['img']:
        raise ValueError(f"{name} supports only img_fields == ['img']; "
                         f"got {results['img_fields']}")


def label_key(bbox_key: str) -> str:
    """The label key of a box key (``gt_bboxes`` -> ``gt_labels``)."""
    return BBOX2LABEL.get(bbox_key, bbox_key.replace('bboxes', 'labels'))


def find_inside_bboxes(bboxes: np.ndarray, img_h: float, img_w: float) -> np.ndarray:
    """``(N,)`` bool: boxes ``(N, 4)`` xyxy that overlap the image ``[0, w] x [0, h]``."""
    return ((bboxes[:, 0] < img_w) & (bboxes[:, 2] > 0)
            & (bboxes[:, 1] < img_h) & (bboxes[:, 3] > 0))


def select_boxes(results: dict, key: str, keep: np.ndarray) -> None:
    """Keep the rows ``keep`` of box field ``key`` and of its labels, when present."""
    results[key] = results[key][keep]
    labels = label_key(key)
    if labels in results:
        results[labels] = results[labels][keep]


def box_filter(orig: np.ndarray, warped: np.ndarray, min_bbox_size: float,
               min_area_ratio: float, max_aspect_ratio: float) -> np.ndarray:
    """``(N,)`` bool: warped boxes ``(N, 4)`` wider and taller than ``min_bbox_size``,
    keeping more than ``min_area_ratio`` of the area of ``orig`` ``(N, 4)`` (the boxes
    before the warp, scaled), with an aspect ratio below ``max_aspect_ratio``
    (mmdetection 2.x's ``filter_gt_bboxes`` / ``_filter_box_candidates``)."""
    orig_w, orig_h = orig[:, 2] - orig[:, 0], orig[:, 3] - orig[:, 1]
    w, h = warped[:, 2] - warped[:, 0], warped[:, 3] - warped[:, 1]
    aspect = np.maximum(w / (h + 1e-16), h / (w + 1e-16))
    return ((w > min_bbox_size) & (h > min_bbox_size)
            & (w * h / (orig_w * orig_h + 1e-16) > min_area_ratio)
            & (aspect < max_aspect_ratio))


def check_pair(value: object, name: str) -> tuple[int, int]:
    """``value`` as an ``(int, int)`` pair; a ``ValueError`` naming ``name`` otherwise."""
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(
            isinstance(v, (int, float)) and v > 0 for v in value):
        raise ValueError(f'{name} must be a pair of positive sizes (h, w), e.g. (640, 640); '
                         f'got {value!r}')
    return int(value[0]), int(value[1])
