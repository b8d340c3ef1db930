"""LabelMe json -> COCO json.

LabelMe writes one json per image: ``imagePath`` (relative to the json), ``imageWidth``,
``imageHeight`` and ``shapes``, each with a ``label``, ``points`` and ``shape_type``.
Rectangles, polygons and circles become boxes (polygons keep their outline as the
segmentation); lines and points, which have no box, are left out and counted.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from collections import Counter

import numpy as np

from .coco_json import coco_annotation, coco_categories

#: LabelMe shape types that enclose an area.
BOX_SHAPES = ('rectangle', 'polygon', 'circle')


def shape_box(shape: dict, where: str) -> tuple[tuple[float, ...], list[list[float]] | None]:
    """``(x, y, w, h)`` of a rectangle, polygon or circle shape and its polygon (or None)."""
    points = np.asarray(shape.get('points', []), dtype=np.float64).reshape(-1, 2)
    kind = shape.get('shape_type') or 'polygon'
    needed = {'rectangle': 2, 'circle': 2, 'polygon': 3}[kind]
    if len(points) < needed:
        raise ValueError(f"{where}: a {kind} needs at least {needed} points, got {len(points)}")
    if kind == 'circle':  # centre, then a point on the circle
        radius = float(np.hypot(*(points[1] - points[0])))
        (cx, cy) = points[0]
        return (cx - radius, cy - radius, 2 * radius, 2 * radius), None
    (x1, y1), (x2, y2) = points.min(axis=0), points.max(axis=0)
    polygon = [points.reshape(-1).tolist()] if kind == 'polygon' else None
    return (x1, y1, x2 - x1, y2 - y1), polygon


def labelme_to_coco(input_dir: str, class_names: tuple[str, ...] | None = None
                    ) -> tuple[dict, Counter]:
    """A COCO dict of every LabelMe json under ``input_dir`` (sorted, recursively).

    ``file_name`` is each ``imagePath`` relative to ``input_dir`` (use it as
    ``img_prefix``). Categories are ``class_names`` in order, or else the labels found,
    sorted.

    Returns:
        The COCO dict and a ``Counter`` of the shapes left out, by shape type.

    Raises:
        FileNotFoundError: ``input_dir`` does not exist or holds no json.
        ValueError: a json without the LabelMe keys, or a label not in ``class_names``
            (naming the file).
    """
    if not osp.isdir(input_dir):
        raise FileNotFoundError(f'LabelMe folder not found: {input_dir}')
    files = sorted(osp.join(root, n) for root, _, names in os.walk(input_dir)
                   for n in names if n.endswith('.json'))
    if not files:
        raise FileNotFoundError(f'no LabelMe .json files in {input_dir}')
    records = []
    for path in files:
        with open(path) as f:
            record = json.load(f)
        missing = [k for k in ('imagePath', 'imageWidth', 'imageHeight', 'shapes')
                   if k not in record]
        if missing:
            raise ValueError(f'{path}: not a LabelMe annotation, keys {missing} are missing')
        records.append((path, record))
    seen = sorted({s['label'] for _, r in records for s in r['shapes']})
    names = tuple(class_names) if class_names else tuple(seen)
    category = {name: i + 1 for i, name in enumerate(names)}
    images, annotations = [], []
    skipped: Counter = Counter()
    for image_id, (path, record) in enumerate(records, start=1):
        image_path = osp.normpath(osp.join(osp.dirname(path), record['imagePath']))
        images.append({'id': image_id, 'file_name': osp.relpath(image_path, input_dir),
                       'width': int(record['imageWidth']),
                       'height': int(record['imageHeight'])})
        for i, shape in enumerate(record['shapes']):
            kind = shape.get('shape_type') or 'polygon'
            if kind not in BOX_SHAPES:
                skipped[kind] += 1
                continue
            if shape['label'] not in category:
                raise ValueError(f"{path}: shape {i} has label {shape['label']!r}, which is not "
                                 f'in the class names {list(names)}')
            box, polygon = shape_box(shape, f'{path}: shape {i}')
            annotations.append(coco_annotation(len(annotations) + 1, image_id,
                                               category[shape['label']], box, polygon))
    coco = {'info': {'description': 'converted from LabelMe by mmssd'}, 'images': images,
            'annotations': annotations, 'categories': coco_categories(names)}
    return coco, skipped
