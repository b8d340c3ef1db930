"""Pseudo-labels: confident detections on unlabelled (test) images as a COCO annotation file.

The kept boxes become annotations of the test images; every image and annotation is
marked ``"pseudo": true`` and numbered after the largest ids of the training file, so the
two files can be merged (:func:`merge_coco`) or listed together in ``data.train.ann_file``
without an id meaning two things.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from .coco_results import check_result_ids
from .converters.coco_json import coco_annotation


def _next_id(records: Sequence[Mapping]) -> int:
    return max((int(r['id']) for r in records), default=-1) + 1


def pseudo_label_coco(dets: Sequence[Mapping], test_ann: Mapping, score_thr: float,
                      train_ann: Mapping | None = None) -> dict:
    """A COCO dict of the test images with the detections scoring ``>= score_thr``.

    Args:
        dets: COCO detections ``{'image_id', 'category_id', 'bbox', 'score'}`` in
            ``test_ann``'s ids.
        test_ann: the test file (``images``, ``categories``).
        score_thr: the lowest score kept.
        train_ann: the training file: ids start after its largest image and annotation
            ids (default: from 0 and 1), and its categories must be the test file's.

    Returns:
        ``images`` (every test image with at least one kept box, renumbered, its
        ``file_name`` as in the test file, ``pseudo: true`` and ``source_id``, its id in the
        test file), ``annotations`` (``score``, ``pseudo: true``) and ``categories``.

    Raises:
        ValueError: nothing scores ``>= score_thr`` (the message gives the highest score),
            a detection names an image or category the test file lacks, or the two files'
            categories differ.
    """
    categories = list(test_ann['categories'])
    if train_ann is not None and _category_names(train_ann) != _category_names(test_ann):
        raise ValueError(f'the training file categories {_category_names(train_ann)} differ '
                         f'from the test file categories {_category_names(test_ann)}')
    images = {int(img['id']): img for img in test_ann['images']}
    check_result_ids(dets, images, sorted(int(c['id']) for c in categories), 'the test file')
    kept = [d for d in dets if float(d['score']) >= score_thr]
    if not kept:
        best = max((float(d['score']) for d in dets), default=None)
        seen = f'the highest score is {best:.4g}' if best is not None else 'there are none'
        raise ValueError(f'no detection scores >= {score_thr}: {seen}; lower the threshold')
    first_img = _next_id(train_ann['images']) if train_ann else 0
    first_ann = max(_next_id(train_ann.get('annotations', [])), 1) if train_ann else 1
    new_id: dict[int, int] = {}
    out_images, annotations = [], []
    for det in sorted(kept, key=lambda d: (int(d['image_id']), -float(d['score']))):
        source = int(det['image_id'])
        if source not in new_id:
            new_id[source] = first_img + len(new_id)
            out_images.append(dict(images[source], id=new_id[source], source_id=source,
                                   pseudo=True))
        record = coco_annotation(first_ann + len(annotations), new_id[source],
                                 int(det['category_id']), tuple(det['bbox']))
        record.update(score=float(det['score']), pseudo=True)
        annotations.append(record)
    return {'info': {'description': f'pseudo-labels (score >= {score_thr}) by mmssd'},
            'images': out_images, 'annotations': annotations, 'categories': categories}


def merge_coco(train_ann: Mapping, pseudo: Mapping) -> dict:
    """The union of a training file and a pseudo-label file from :func:`pseudo_label_coco`
    (with that ``train_ann``).

    Raises:
        ValueError: an image or annotation id is in both (the pseudo file was made for
            another training file).
    """
    for key in ('images', 'annotations'):
        shared = {int(r['id']) for r in train_ann.get(key, [])} & \
            {int(r['id']) for r in pseudo[key]}
        if shared:
            raise ValueError(f'{key} ids {sorted(shared)[:5]} are in both files; make the '
                             'pseudo-labels with this training file')
    return dict(train_ann, images=[*train_ann['images'], *pseudo['images']],
                annotations=[*train_ann.get('annotations', []), *pseudo['annotations']])


def _category_names(ann: Mapping) -> list[tuple[int, str]]:
    return [(int(c['id']), str(c['name'])) for c in ann['categories']]
