"""The embedded demo dataset: format, determinism, skip-if-current, visible objects."""
from __future__ import annotations

import json
import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmssd.datasets.demo_shapes import DEMO_CLASSES, MIN_VISIBLE, make_demo_dataset, place_objects


@pytest.fixture(scope='module')
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('demo')
    make_demo_dataset(root, num_train=24, num_val=8, seed=3)
    return root


def load(root: Path, split: str) -> dict:
    return json.loads((root / 'annotations' / f'instances_{split}.json').read_text())


def test_coco_fields(demo: Path):
    coco = load(demo, 'train')
    assert [c['name'] for c in coco['categories']] == list(DEMO_CLASSES)
    assert [c['id'] for c in coco['categories']] == [1, 2, 3, 4, 5]
    assert len(coco['images']) == 24 and len(load(demo, 'val')['images']) == 8
    images = {im['id']: im for im in coco['images']}
    per_image = dict.fromkeys(images, 0)
    for ann in coco['annotations']:
        im = images[ann['image_id']]
        x, y, w, h = ann['bbox']
        assert x >= 0 and y >= 0 and x + w <= im['width'] and y + h <= im['height']
        assert w >= 5 and h >= 5 and ann['area'] > 0 and ann['iscrowd'] == 0
        assert 1 <= ann['category_id'] <= 5
        per_image[ann['image_id']] += 1
    assert all(1 <= n <= 6 for n in per_image.values())
    for im in coco['images']:
        img = cv2.imread(str(demo / 'train' / im['file_name']))
        assert img.shape == (im['height'], im['width'], 3)
        assert 144 <= im['height'] <= 192 and 144 <= im['width'] <= 192


def test_boxes_are_tight_around_coloured_pixels(demo: Path):
    """Inside each box the border rows/cols contain saturated (object) pixels."""
    coco = load(demo, 'val')
    images = {im['id']: im for im in coco['images']}
    for ann in coco['annotations']:
        img = cv2.imread(str(demo / 'val' / images[ann['image_id']]['file_name']))
        sat = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)[..., 1] > 60  # JPEG blurs thin tips
        x, y, w, h = ann['bbox']
        crop = sat[y:y + h, x:x + w]
        assert crop.mean() > 0.3
        for edge in (crop[:3], crop[-3:], crop[:, :3], crop[:, -3:]):
            assert edge.any()


def test_same_seed_same_files_and_skip(tmp_path: Path):
    a, b = tmp_path / 'a', tmp_path / 'b'
    out = make_demo_dataset(a, num_train=6, num_val=2, seed=1)
    assert out['generated'] == ['train', 'val']
    make_demo_dataset(b, num_train=6, num_val=2, seed=1)
    for rel in ('annotations/instances_train.json', 'annotations/instances_val.json',
                'train/000003.jpg', 'val/000001.jpg'):
        assert (a / rel).read_bytes() == (b / rel).read_bytes()
    assert make_demo_dataset(a, num_train=6, num_val=2, seed=1)['generated'] == []
    assert make_demo_dataset(a, num_train=6, num_val=3, seed=1)['generated'] == ['val']
    (a / 'train' / '000000.jpg').unlink()
    assert make_demo_dataset(a, num_train=6, num_val=3, seed=1)['generated'] == ['train']
    info = load(a, 'train')['info']['params']
    assert info['seed'] == 1 and info['num_images'] == 6


def test_every_object_stays_mostly_visible():
    for i in range(40):
        objects = place_objects(np.random.default_rng(i), 160, 160)
        assert 1 <= len(objects) <= 6
        covered = np.zeros((160, 160), bool)
        for obj in reversed(objects):  # later objects are painted on top
            visible = obj.mask & ~covered
            assert visible.sum() >= MIN_VISIBLE * obj.mask.sum() - 1
            covered |= obj.mask


def test_cli(tmp_path: Path):
    tool = Path(__file__).resolve().parents[2] / 'tools/misc/make_demo_data.py'
    main = runpy.run_path(str(tool), run_name='make_demo_data')['main']
    main(['--out', str(tmp_path / 'd'), '--num-train', '3', '--num-val', '2'])
    assert len(load(tmp_path / 'd', 'train')['images']) == 3
