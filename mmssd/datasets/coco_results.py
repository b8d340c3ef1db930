"""What a COCO detection result entry must hold, checked against the dataset it names."""
from __future__ import annotations

from collections.abc import Collection, Sequence


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
