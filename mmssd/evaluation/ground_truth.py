"""What a COCO ground truth can score: files without annotations, classes without any box,
and annotation ids that pycocotools' matching cannot take.

pycocotools' ``COCOeval`` records each detection's matched ground-truth *annotation id*
and reads an id of 0 as "no match", so a detection matching the annotation with id 0 (as
competition files number them, from 0) counts as a false positive. :func:`fix_annotation_ids`
renumbers such annotations before evaluation. An annotation-free file (a test set) has
nothing to score: :func:`no_ground_truth_error` says so instead of pycocotools' ``-1``
everywhere, and :func:`num_scored_boxes` finds the classes whose AP a validation split
cannot score (``-1`` precision in pycocotools, left out of its mean).
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

#: Classwise-table cell of a class without ground truth in the evaluated images.
NO_GT_CELL = 'n/a (no ground truth)'


def fix_annotation_ids(coco: Any) -> bool:
    """Renumber the annotations of ``coco`` (a pycocotools-style ``COCO``) 1..N, in file
    order, when an id is 0 or repeated; returns whether it did (the file is unchanged)."""
    anns = coco.dataset.get('annotations') or []
    ids = [ann.get('id') for ann in anns]
    if 0 not in ids and None not in ids and len(set(ids)) == len(ids):
        return False
    coco.dataset['annotations'] = [dict(ann, id=i + 1) for i, ann in enumerate(anns)]
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return True


def num_scored_boxes(coco: Any, img_ids: Sequence[int], cat_ids: Sequence[int]) -> list[int]:
    """Per category of ``cat_ids``, the ground-truth boxes in ``img_ids`` that COCOeval
    scores (not ``iscrowd``, not ``ignore``)."""
    counts = dict.fromkeys(cat_ids, 0)
    for img_id in img_ids:
        for ann in coco.imgToAnns.get(img_id, []):
            if ann['category_id'] in counts and not ann.get('iscrowd', 0) \
                    and not ann.get('ignore', 0):
                counts[ann['category_id']] += 1
    return [counts[c] for c in cat_ids]


def no_ground_truth_error(ann_file: str, num_images: int, metric: str) -> ValueError:
    """The error for evaluating ``metric`` on images without any ground-truth box."""
    return ValueError(
        f'{ann_file} has no ground truth: no annotations for the {num_images} evaluated '
        f'images (a test set, such as a competition\'s test.json?), so `{metric}` cannot be '
        'scored. To write the detections for submission instead, run tools/test.py with '
        '--format-only --eval-options jsonfile_prefix=PATH (PATH.bbox.json is written).')
