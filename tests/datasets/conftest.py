"""A tiny hand-made COCO dataset on disk for the dataset and pipeline tests."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers.voc_files import write_voc

CATEGORIES = [{'id': 3, 'name': 'cat'}, {'id': 7, 'name': 'dog'}, {'id': 9, 'name': 'bird'}]


def write_coco(root: Path) -> Path:
    """5 images; image 4 has only a bird and a crowd dog, image 5 is tiny (20 px)."""
    (root / 'imgs').mkdir(parents=True, exist_ok=True)
    images = [
        {'id': 1, 'file_name': 'a.jpg', 'width': 64, 'height': 48},
        {'id': 2, 'file_name': 'b.jpg', 'width': 40, 'height': 60},
        {'id': 3, 'file_name': 'c.jpg', 'width': 50, 'height': 50},
        {'id': 4, 'file_name': 'd.jpg', 'width': 50, 'height': 40},
        {'id': 5, 'file_name': 'e.jpg', 'width': 20, 'height': 20},
    ]
    anns = [
        (1, 3, [2, 3, 20, 10], 0), (1, 7, [30, 20, 10, 20], 0), (1, 7, [5, 5, 0.5, 8], 0),
        (2, 9, [1, 1, 10, 10], 0), (2, 3, [10, 30, 20, 20], 0), (2, 3, [0, 0, 40, 60], 1),
        (4, 9, [3, 3, 10, 10], 0), (4, 7, [0, 0, 30, 30], 1),
        (5, 3, [1, 1, 5, 5], 0),
    ]
    annotations = [{'id': i + 1, 'image_id': im, 'category_id': c, 'bbox': b,
                    'area': b[2] * b[3], 'iscrowd': crowd}
                   for i, (im, c, b, crowd) in enumerate(anns)]
    for im in images:
        img = np.full((im['height'], im['width'], 3), 40 * im['id'], np.uint8)
        cv2.imwrite(str(root / 'imgs' / im['file_name']), img)
    path = root / 'ann.json'
    path.write_text(json.dumps({'images': images, 'annotations': annotations,
                                'categories': CATEGORIES}))
    return path


@pytest.fixture(scope='session')
def coco_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('coco')
    write_coco(root)
    return root


# --------------------------------------------------------------------------- tiny VOC
@pytest.fixture(scope='session')
def voc_root(tmp_path_factory) -> Path:
    """A session-wide tiny VOCdevkit (see :func:`write_voc`); do not modify it."""
    root = tmp_path_factory.mktemp('vocdevkit')
    write_voc(root)
    return root
