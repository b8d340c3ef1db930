"""Per-image, per-class detections -> COCO result json entries."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def xyxy2xywh(bbox: np.ndarray) -> list[float]:
    """``[x1, y1, x2, y2]`` -> ``[x, y, w, h]`` (COCO), as Python floats."""
    x1, y1, x2, y2 = (float(v) for v in bbox[:4])
    return [x1, y1, x2 - x1, y2 - y1]


def results2json(results: Sequence[tuple[int, Sequence[np.ndarray]]],
                 cat_ids: Sequence[int]) -> list[dict]:
    """COCO detection entries from ``(img_id, per-class (n, 5) arrays)`` pairs.

    Args:
        results: one pair per image; ``dets[label]`` is an (n, 5) array
            ``[x1, y1, x2, y2, score]`` in original image pixels.
        cat_ids: ``cat_ids[label]`` is the COCO category id of ``label``.

    Returns:
        ``[{'image_id', 'bbox': [x, y, w, h], 'score', 'category_id'}, ...]``.
    """
    out = []
    for img_id, dets in results:
        if len(dets) > len(cat_ids):
            raise ValueError(f'image {img_id}: detections for {len(dets)} classes but only '
                             f'{len(cat_ids)} category ids (dataset_meta["cat_ids"])')
        for label, boxes in enumerate(dets):
            for box in np.asarray(boxes).reshape(-1, 5):
                out.append({'image_id': int(img_id), 'bbox': xyxy2xywh(box),
                            'score': float(box[4]), 'category_id': int(cat_ids[label])})
    return out
