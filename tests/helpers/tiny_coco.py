"""Small COCO datasets on disk for the fault battery, and configs training on them.

:func:`write_tiny_coco` writes ``root/imgs/*.jpg`` and ``root/ann.json``: image ``i`` is
a flat grey background with one bright rectangle, annotated as class ``box`` (unless the
image is listed as empty); :func:`tiny_config` trains the demo SSDLite on such a folder.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from tests.helpers.tools import REPO


def object_box(width: int, height: int) -> list[float]:
    """COCO ``[x, y, w, h]`` of the rectangle drawn in an image of that size."""
    return [width * 0.25, height * 0.3, width * 0.4, height * 0.35]


def write_tiny_coco(root: Path, sizes: list[tuple[int, int]], empty: tuple[int, ...] = (),
                    ext: str = 'jpg') -> Path:
    """Write one image per ``(width, height)`` of ``sizes`` and a COCO json.

    Args:
        root: folder to write into (created).
        sizes: ``(width, height)`` of each image.
        empty: indices of images written without any annotation.
        ext: image file extension.

    Returns:
        ``root``; images are ``root/imgs/img{i}.{ext}``, annotations ``root/ann.json``.
    """
    (root / 'imgs').mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i, (w, h) in enumerate(sizes):
        name = f'img{i}.{ext}'
        img = np.full((h, w, 3), 60 + 10 * i, np.uint8)
        x, y, bw, bh = object_box(w, h)
        img[int(y):int(y + bh), int(x):int(x + bw)] = (30, 200, 240)
        cv2.imwrite(str(root / 'imgs' / name), img)
        images.append({'id': i + 1, 'file_name': name, 'width': w, 'height': h})
        if i not in empty:
            annotations.append({'id': len(annotations) + 1, 'image_id': i + 1,
                                'category_id': 1, 'bbox': [x, y, bw, bh],
                                'area': bw * bh, 'iscrowd': 0})
    (root / 'ann.json').write_text(json.dumps(
        {'images': images, 'annotations': annotations,
         'categories': [{'id': 1, 'name': 'box'}]}))
    return root


#: A short SSDLite run on a tiny COCO set: 1 epoch, no validation, checkpoint each epoch.
TINY_CONFIG = '''
_base_ = '{repo}/configs/demo/ssdlite_mobilenetv2_demo.py'
classes = ('box',)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', img_scale=(64, 64), keep_ratio=False),
    dict(type='RandomFlip', flip_ratio=0.0),
    dict(type='Normalize', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
         to_rgb=True),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
model = dict(bbox_head=dict(num_classes=1))
data = dict(
    samples_per_gpu={batch}, workers_per_gpu={workers},
    train=dict(ann_file='{root}/ann.json', img_prefix='{root}/imgs/', classes=classes,
               pipeline=train_pipeline),
    val=dict(ann_file='{root}/ann.json', img_prefix='{root}/imgs/', classes=classes),
    test=dict(ann_file='{root}/ann.json', img_prefix='{root}/imgs/', classes=classes))
lr_config = dict(_delete_=True, policy='fixed')
runner = dict(max_epochs={epochs})
checkpoint_config = dict(interval=1)
log_config = dict(interval=1)
'''


def tiny_config(path: Path, root: Path, batch: int = 2, workers: int = 0,
                epochs: int = 1, extra: str = '') -> Path:
    """Write a config training the demo SSDLite on ``root`` (64 x 64 inputs) to ``path``."""
    path.write_text(TINY_CONFIG.format(repo=REPO, root=root, batch=batch, workers=workers,
                                       epochs=epochs) + extra)
    return path
