"""Competition submission CSVs <-> COCO result lists.

The format of the trash-detection competition (``../shared/reference/
competition_recipes.md``) and many like it: columns ``PredictionString,image_id``, one row
per test image (``image_id`` its ``file_name``), ``PredictionString`` the image's boxes as
``label score xmin ymin xmax ymax`` repeated, space-separated, ``label`` 0-based in the
order of the annotation file's ``categories``; an image without detections has an empty
string. Scores are written with 8 significant digits, coordinates with 4 decimals.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping, Sequence

from mmssd.datasets.coco_results import check_result_ids

#: The CSV's columns, in order.
COLUMNS = ('PredictionString', 'image_id')


def submission_rows(dets: Sequence[dict], ann: Mapping) -> list[tuple[str, str]]:
    """``(PredictionString, file_name)`` for every image of ``ann`` (in its order) from
    COCO detections ``{'image_id', 'category_id', 'bbox': [x, y, w, h], 'score'}``, each
    image's boxes by decreasing score.

    Raises:
        ValueError: a detection names an image or category that ``ann`` lacks.
    """
    label_of = {int(c['id']): i for i, c in enumerate(ann['categories'])}
    images = ann['images']
    per_image: dict[int, list[dict]] = defaultdict(list)
    check_result_ids(dets, [img['id'] for img in images], sorted(label_of),
                     'the annotation file')
    for det in dets:
        per_image[int(det['image_id'])].append(det)
    rows = []
    for img in images:
        fields = []
        for det in sorted(per_image[int(img['id'])], key=lambda d: -float(d['score'])):
            x, y, w, h = (float(v) for v in det['bbox'])
            fields.append(f"{label_of[int(det['category_id'])]} {float(det['score']):.8g} "
                          f'{x:.4f} {y:.4f} {x + w:.4f} {y + h:.4f}')
        rows.append((' '.join(fields), str(img['file_name'])))
    return rows


def write_submission(dets: Sequence[dict], ann: Mapping, path: str) -> list[tuple[str, str]]:
    """Write the CSV of :func:`submission_rows` to ``path``; returns the rows."""
    rows = submission_rows(dets, ann)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return rows


def read_submission(path: str, ann: Mapping) -> list[dict]:
    """The COCO detections of a submission CSV (the reverse of :func:`write_submission`),
    with ``ann``'s image ids (by ``file_name``) and category ids (by 0-based label).

    Raises:
        ValueError: naming the file and row: other columns, a ``file_name`` that ``ann``
            lacks, a ``PredictionString`` whose length is not a multiple of 6, a value that
            is not a number or a label outside the categories.
    """
    image_of = {str(img['file_name']): int(img['id']) for img in ann['images']}
    cat_ids = [int(c['id']) for c in ann['categories']]
    dets = []
    with open(path, newline='') as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != COLUMNS:
            raise ValueError(f'{path}: expected the columns {",".join(COLUMNS)}; got {header}')
        for line, row in enumerate(reader, start=2):
            if len(row) != 2:
                raise ValueError(f'{path}, line {line}: expected 2 fields, got {len(row)}')
            prediction, file_name = row
            if file_name not in image_of:
                raise ValueError(f'{path}, line {line}: image {file_name!r} is not in the '
                                 'annotation file')
            values = prediction.split()
            if len(values) % 6:
                raise ValueError(f'{path}, line {line}: {len(values)} values in '
                                 'PredictionString; expected groups of 6 (label score xmin '
                                 'ymin xmax ymax)')
            for g in range(0, len(values), 6):
                try:
                    label, score, x1, y1, x2, y2 = (float(v) for v in values[g:g + 6])
                except ValueError as error:
                    raise ValueError(f'{path}, line {line}: {error}') from None
                if label != int(label) or not 0 <= label < len(cat_ids):
                    raise ValueError(f'{path}, line {line}: label {values[g]} is not in '
                                     f'[0, {len(cat_ids)})')
                dets.append({'image_id': image_of[file_name],
                             'category_id': cat_ids[int(label)],
                             'bbox': [x1, y1, x2 - x1, y2 - y1], 'score': score})
    return dets
