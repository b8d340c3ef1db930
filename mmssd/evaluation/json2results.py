"""COCO result json entries -> per-image, per-class detections (inverse of results2json)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmssd.datasets.coco_results import check_result_ids


def json2results(dets: Sequence[dict], img_ids: Sequence[int],
                 cat_ids: Sequence[int]) -> list[list[np.ndarray]]:
    """Per image of ``img_ids`` (in order), per label, float32 ``(n, 5)`` arrays
    ``[x1, y1, x2, y2, score]`` from COCO detections ``{'image_id', 'category_id',
    'bbox': [x, y, w, h], 'score'}``.

    Raises:
        ValueError: an entry lacks a key, or names an image or category outside
            ``img_ids`` / ``cat_ids`` (the results belong to another dataset).
    """
    row = {int(i): n for n, i in enumerate(img_ids)}
    label = {int(c): n for n, c in enumerate(cat_ids)}
    lists: list[list[list[list[float]]]] = [[[] for _ in cat_ids] for _ in img_ids]
    check_result_ids(dets, row, cat_ids, 'the dataset')
    for det in dets:
        x, y, w, h = (float(v) for v in det['bbox'])
        lists[row[int(det['image_id'])]][label[int(det['category_id'])]].append(
            [x, y, x + w, y + h, float(det['score'])])
    return [[np.array(boxes, np.float32).reshape(-1, 5) for boxes in per_image]
            for per_image in lists]
