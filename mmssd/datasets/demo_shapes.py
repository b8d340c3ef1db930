"""A small synthetic detection dataset in COCO format: coloured shapes on varied backgrounds.

Five classes, each a shape with its own colour family (hue jittered), so both shape and
colour carry the class. Images are 144-192 px per side, with 1-6 objects from ~10 px to
~70 px. Objects may overlap, but each keeps at least :data:`MIN_VISIBLE` of its pixels
visible, so every annotated object stays clearly visible.

Generation is deterministic: every image draws from its own generator seeded with
``(seed, split, index)``, and the json is written with a fixed key order, so the same
arguments give byte-identical annotation files.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from dataclasses import dataclass

import cv2
import numpy as np

#: Class names, in category-id order (ids start at 1).
DEMO_CLASSES = ('circle', 'square', 'triangle', 'star', 'cross')
#: Hue centre (OpenCV scale 0..179) of each class's colour family.
CLASS_HUES = (0, 112, 60, 27, 150)
HUE_JITTER = 7
#: Object extent (px of the longer side of its box): ranges and their probabilities.
SIZE_BINS = ((10, 20), (20, 45), (45, 72))
SIZE_PROBS = (0.25, 0.5, 0.25)
#: An object whose visible pixels fall below this fraction of its area is not allowed.
MIN_VISIBLE = 0.75
MAX_OBJECTS = 6
#: Bump when the drawing changes, so old data on disk is regenerated.
GENERATOR_VERSION = 1
SPLITS = ('train', 'val')


@dataclass
class DrawnObject:
    """One painted shape: its class index (0-based), pixel mask (H, W) bool and box."""

    label: int
    mask: np.ndarray
    box: tuple[int, int, int, int]  # x, y, w, h (tight, inclusive pixels)


# --------------------------------------------------------------------------- colours
def hsv_to_bgr(h: float, s: float, v: float) -> tuple[int, int, int]:
    """One OpenCV-scale HSV colour (h 0..179, s/v 0..255) as a BGR int triple."""
    pixel = np.array([[[h % 180, s, v]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(pixel, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def class_colour(rng: np.random.Generator, label: int) -> tuple[int, int, int]:
    """A saturated, bright BGR colour from the colour family of class ``label``."""
    hue = CLASS_HUES[label] + rng.integers(-HUE_JITTER, HUE_JITTER + 1)
    return hsv_to_bgr(hue, rng.integers(170, 256), rng.integers(170, 256))


def muted_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A low-saturation BGR colour for backgrounds and distractors."""
    return hsv_to_bgr(rng.integers(0, 180), rng.integers(0, 60), rng.integers(40, 200))


# --------------------------------------------------------------------------- background
def draw_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A (H, W, 3) uint8 BGR background: muted gradient, distractors and noise."""
    c0 = np.array(muted_colour(rng), dtype=np.float32)
    c1 = np.array(muted_colour(rng), dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    t = xs * np.cos(angle) + ys * np.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    img = c0 + t[..., None] * (c1 - c0)
    img = np.ascontiguousarray(img.astype(np.uint8))
    for _ in range(rng.integers(0, 5)):
        x0, x1 = sorted(rng.integers(0, width, 2))
        y0, y1 = sorted(rng.integers(0, height, 2))
        cv2.rectangle(img, (int(x0), int(y0)), (int(x1), int(y1)), muted_colour(rng), -1)
    for _ in range(rng.integers(0, 5)):
        p0 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.line(img, p0, p1, muted_colour(rng), int(rng.integers(1, 4)))
    return img


# --------------------------------------------------------------------------- shapes
def _rotated(points: np.ndarray, angle: float) -> np.ndarray:
    """(N, 2) points rotated by ``angle`` radians about the origin."""
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def shape_polygon(rng: np.random.Generator, label: int, size: float) -> np.ndarray | None:
    """(N, 2) polygon of class ``label`` around the origin, about ``size`` px across.

    Returns None for the circle, which is drawn as an ellipse instead.
    """
    r = size / 2
    name = DEMO_CLASSES[label]
    if name == 'circle':
        return None
    if name == 'square':
        pts = np.array([[-r, -r], [r, -r], [r, r], [-r, r]]) * 0.8
        return _rotated(pts, rng.uniform(-0.35, 0.35))
    if name == 'triangle':
        ang = -np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        pts = np.stack([np.cos(ang), np.sin(ang)], 1) * r
        return _rotated(pts, rng.uniform(-0.4, 0.4))
    if name == 'star':
        ang = -np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        pts = np.stack([np.cos(ang), np.sin(ang)], 1) * radii[:, None]
        return _rotated(pts, rng.uniform(-0.3, 0.3))
    if name == 'cross':
        a = r * 0.34
        pts = np.array([[-a, -r], [a, -r], [a, -a], [r, -a], [r, a], [a, a], [a, r],
                        [-a, r], [-a, a], [-r, a], [-r, -a], [-a, -a]]) * 0.9
        return _rotated(pts, rng.uniform(-0.4, 0.4))
    raise ValueError(f'unknown demo class index {label}')


def sample_size(rng: np.random.Generator) -> float:
    """An object extent in px drawn from :data:`SIZE_BINS` with :data:`SIZE_PROBS`."""
    low, high = SIZE_BINS[rng.choice(len(SIZE_BINS), p=SIZE_PROBS)]
    return float(rng.uniform(low, high))


def draw_shape_mask(rng: np.random.Generator, label: int, height: int,
                    width: int) -> np.ndarray:
    """(H, W) bool mask of one shape of class ``label`` at a random place and size."""
    size = min(sample_size(rng), 0.9 * min(height, width))
    half = size / 2 + 1
    cx = rng.uniform(half, width - half)
    cy = rng.uniform(half, height - half)
    mask = np.zeros((height, width), dtype=np.uint8)
    poly = shape_polygon(rng, label, size)
    if poly is None:  # circle / mild ellipse
        aspect = rng.uniform(0.8, 1.0)
        axes = (size / 2, size / 2 * aspect)
        if rng.random() < 0.5:
            axes = axes[::-1]
        box = ((float(cx), float(cy)), (2 * axes[0], 2 * axes[1]), 0.0)
        cv2.ellipse(mask, box, 1, -1)
    else:
        pts = np.round((poly + [cx, cy]) * 16).astype(np.int32)
        cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Tight ``(x, y, w, h)`` of a non-empty (H, W) bool mask; w/h count whole pixels."""
    ys = np.flatnonzero(mask.any(1))
    xs = np.flatnonzero(mask.any(0))
    return int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1)


def keeps_others_visible(new: np.ndarray, objects: list[DrawnObject],
                         visible: list[np.ndarray]) -> bool:
    """Whether painting ``new`` over ``objects`` leaves each at least MIN_VISIBLE visible."""
    for obj, vis in zip(objects, visible, strict=True):
        if (vis & ~new).sum() < MIN_VISIBLE * obj.mask.sum():
            return False
    return True


def place_objects(rng: np.random.Generator, height: int, width: int) -> list[DrawnObject]:
    """1..MAX_OBJECTS shapes, each kept only if all earlier ones stay visible enough."""
    objects: list[DrawnObject] = []
    visible: list[np.ndarray] = []
    for _ in range(rng.integers(1, MAX_OBJECTS + 1)):
        for _attempt in range(10):
            label = int(rng.integers(len(DEMO_CLASSES)))
            mask = draw_shape_mask(rng, label, height, width)
            if mask.sum() < 20 or not keeps_others_visible(mask, objects, visible):
                continue
            visible = [v & ~mask for v in visible] + [mask.copy()]
            objects.append(DrawnObject(label, mask, mask_box(mask)))
            break
    return objects


def render_image(rng: np.random.Generator, height: int,
                 width: int) -> tuple[np.ndarray, list[DrawnObject]]:
    """A (H, W, 3) uint8 BGR image and the objects painted on it (in paint order)."""
    img = draw_background(rng, height, width)
    objects = place_objects(rng, height, width)
    for obj in objects:
        img[obj.mask] = class_colour(rng, obj.label)
    noise = rng.normal(0, rng.uniform(2, 8), img.shape)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return img, objects


def render_indexed(seed: int, split: str, idx: int,
                   size_range: tuple[int, int]) -> tuple[np.ndarray, list[DrawnObject]]:
    """Image ``idx`` of ``split`` (H, W, 3 uint8 BGR) and its objects.

    Deterministic: drawn from a generator seeded with ``(seed, split index, idx)``; the
    side lengths are drawn first, inclusive of ``size_range``. The COCO and VOC layouts
    both render through this, so they hold the same images.
    """
    rng = np.random.default_rng([seed, SPLITS.index(split), idx])
    height, width = (int(v) for v in rng.integers(size_range[0], size_range[1] + 1, 2))
    return render_image(rng, height, width)


# --------------------------------------------------------------------------- COCO json
def _params(split: str, num_images: int, seed: int, size_range: tuple[int, int]) -> dict:
    return {'generator': 'mmssd.datasets.demo_shapes', 'version': GENERATOR_VERSION,
            'split': split, 'num_images': int(num_images), 'seed': int(seed),
            'size_range': [int(size_range[0]), int(size_range[1])]}


def make_split(out_dir: str, split: str, num_images: int, seed: int,
               size_range: tuple[int, int]) -> dict:
    """Render one split's images under ``out_dir/<split>/`` and return its COCO dict."""
    img_dir = osp.join(out_dir, split)
    os.makedirs(img_dir, exist_ok=True)
    images, annotations = [], []
    for idx in range(num_images):
        img, objects = render_indexed(seed, split, idx, size_range)
        height, width = img.shape[:2]
        file_name = f'{idx:06d}.jpg'
        cv2.imwrite(osp.join(img_dir, file_name), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        images.append({'id': idx + 1, 'file_name': file_name, 'height': height, 'width': width})
        for obj in objects:
            x, y, w, h = obj.box
            annotations.append({'id': len(annotations) + 1, 'image_id': idx + 1,
                                'category_id': obj.label + 1, 'bbox': [x, y, w, h],
                                'area': int(obj.mask.sum()), 'iscrowd': 0})
    categories = [{'id': i + 1, 'name': name, 'supercategory': 'shape'}
                  for i, name in enumerate(DEMO_CLASSES)]
    info = {'description': 'mmssd synthetic demo shapes',
            'params': _params(split, num_images, seed, size_range)}
    return {'info': info, 'images': images, 'annotations': annotations, 'categories': categories}


def ann_path(out_dir: str, split: str) -> str:
    """Path of a split's annotation file: ``out_dir/annotations/instances_<split>.json``."""
    return osp.join(out_dir, 'annotations', f'instances_{split}.json')


def split_is_current(out_dir: str, split: str, params: dict) -> bool:
    """Whether the split's json exists with ``params`` in its info and all its images."""
    path = ann_path(out_dir, split)
    if not osp.isfile(path):
        return False
    try:
        with open(path) as f:
            coco = json.load(f)
    except (OSError, ValueError):
        return False
    if coco.get('info', {}).get('params') != params:
        return False
    img_dir = osp.join(out_dir, split)
    return all(osp.isfile(osp.join(img_dir, im['file_name'])) for im in coco['images'])


def make_demo_dataset(out_dir: str, num_train: int = 1000, num_val: int = 200,
                      seed: int = 0, size_range: tuple[int, int] = (144, 192),
                      force: bool = False) -> dict:
    """Write the demo dataset under ``out_dir`` (skipping splits already up to date).

    Layout: ``out_dir/annotations/instances_{train,val}.json`` and images in
    ``out_dir/{train,val}/``.

    Args:
        out_dir: root folder of the dataset.
        num_train: number of training images.
        num_val: number of validation images.
        seed: base seed; the same seed gives the same files.
        size_range: inclusive (min, max) of each image side in px.
        force: regenerate even if the files on disk match the parameters.

    Returns:
        ``{'train': json path, 'val': json path, 'classes': tuple, 'generated': [splits]}``.
    """
    if size_range[0] < 32 or size_range[1] < size_range[0]:
        raise ValueError(f'size_range must be (min, max) with 32 <= min <= max; got {size_range}')
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    out: dict = {'classes': DEMO_CLASSES, 'generated': []}
    for split, num in zip(SPLITS, (num_train, num_val), strict=True):
        params = _params(split, num, seed, size_range)
        out[split] = ann_path(out_dir, split)
        if not force and split_is_current(out_dir, split, params):
            continue
        coco = make_split(out_dir, split, num, seed, size_range)
        tmp = out[split] + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(coco, f, separators=(',', ':'))
        os.replace(tmp, out[split])
        out['generated'].append(split)
    return out
