"""Pieces shared by the converters: class-names files, COCO records, atomic json writes."""
from __future__ import annotations

import json
import os
import os.path as osp

import cv2

#: Image file extensions the converters look for.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def read_class_names(path: str) -> tuple[str, ...]:
    """Class names from a text file, one per line (blank lines skipped), in order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file names no class, or a name twice.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'class names file not found: {path}')
    with open(path) as f:
        names = tuple(line.strip() for line in f if line.strip())
    if not names:
        raise ValueError(f'class names file {path} is empty; expected one name per line')
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f'class names file {path} repeats {repeated}; names must be unique')
    return names


def image_size(path: str) -> tuple[int, int]:
    """``(width, height)`` of an image file; ``ValueError`` if it cannot be read."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f'cannot read image {path} (missing, empty or not an image)')
    return int(img.shape[1]), int(img.shape[0])


def coco_annotation(ann_id: int, image_id: int, category_id: int,
                    xywh: tuple[float, float, float, float],
                    segmentation: list[list[float]] | None = None) -> dict:
    """One COCO annotation record; the box polygon is the segmentation unless given."""
    x, y, w, h = (float(v) for v in xywh)
    if segmentation is None:
        segmentation = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    return {'id': ann_id, 'image_id': image_id, 'category_id': category_id,
            'bbox': [x, y, w, h], 'area': w * h, 'iscrowd': 0, 'segmentation': segmentation}


def coco_categories(names: tuple[str, ...]) -> list[dict]:
    """Categories ``1..K`` in the order of ``names``."""
    return [{'id': i + 1, 'name': name, 'supercategory': 'none'} for i, name in enumerate(names)]


def write_json(data: dict | list, path: str) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file, then a rename)."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f)
    os.replace(tmp, path)
