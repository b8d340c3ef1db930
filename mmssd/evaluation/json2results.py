"""COCO result json entries -> per-image, per-class detections (inverse of results2json)."""
from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np


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


def check_result_ids(dets: Sequence[dict], img_ids: Collection[int],
                     cat_ids: Sequence[int], source: str) -> None:
    """Raise ``ValueError`` naming the first COCO result entry that lacks one of
    ``image_id``, ``category_id``, ``bbox``, ``score``, or whose ``image_id`` is not in
    ``img_ids`` or whose ``category_id`` is not in ``cat_ids`` (those of ``source``, e.g.
    ``'the dataset'``: the results belong to another file)."""
    images, categories = {int(i) for i in img_ids}, {int(c) for c in cat_ids}
    for k, det in enumerate(dets):
        missing = [key for key in ('image_id', 'category_id', 'bbox', 'score') if key not in det]
        if missing:
            raise ValueError(f'result entry {k} lacks {missing}; COCO results need image_id, '
                             'category_id, bbox and score')
        if int(det['image_id']) not in images:
            raise ValueError(f"result entry {k}: image_id {det['image_id']} is not an image of "
                             f'{source}')
        if int(det['category_id']) not in categories:
            raise ValueError(f"result entry {k}: category_id {det['category_id']} is not one "
                             f'of {source} categories {list(cat_ids)}')
