"""Mosaic, MixUp and YOLOXHSVRandomAug give, for the same random draws, exactly what the
straightforward computations written here give (images byte for byte, boxes, labels).

The transforms take short cuts (resizing straight into the canvas, filling only what no
image covers, blending uint8 with bit operations, one lookup on the changed HSV channel);
the references below build the whole canvas, blend in float32 as mmdetection does and add
the HSV gains in int16.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from mmssd.datasets.pipelines import MixUp, Mosaic, YOLOXHSVRandomAug
from mmssd.datasets.pipelines.mixup import blend_half


def _image(rng: np.random.Generator, h: int, w: int, channels: int | None = 3,
           dtype=np.uint8) -> np.ndarray:
    """A smooth random field plus noise (bilinear resizes mix neighbouring pixels)."""
    shape = (h, w) if channels is None else (h, w, channels)
    low = rng.uniform(0, 255, (3, 4) + shape[2:]).astype(np.float32)
    img = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC).reshape(shape)
    img = np.clip(img + rng.normal(0, 25, shape), 0, 255)
    return img.astype(dtype)


def _sample(rng: np.random.Generator, h: int, w: int, **image_args) -> dict:
    n = int(rng.integers(0, 6))
    xy = rng.uniform(-5, [w, h], (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, [w, h], (n, 2))], 1).astype(np.float32)
    return {'img': _image(rng, h, w, **image_args), 'gt_bboxes': boxes.reshape(-1, 4),
            'gt_labels': rng.integers(0, 20, n), 'bbox_fields': ['gt_bboxes']}


def _fit(img: np.ndarray, scale_hw: tuple[int, int]) -> tuple[np.ndarray, float]:
    h, w = img.shape[:2]
    r = min(scale_hw[0] / h, scale_hw[1] / w)
    size = (int(w * r), int(h * r))
    return (img if size == (w, h) else cv2.resize(img, size)), r


def _keep_inside(boxes: np.ndarray, labels: np.ndarray, h: int, w: int):
    keep = (boxes[:, 0] < w) & (boxes[:, 2] > 0) & (boxes[:, 1] < h) & (boxes[:, 3] > 0)
    return boxes[keep], labels[keep]


# --------------------------------------------------------------------------- Mosaic
def _mosaic_reference(samples: list[dict], center: tuple[int, int], scale_hw, pad_val):
    """Paint the four scaled images on a large plane around the centre, cut the canvas."""
    ch, cw = 2 * scale_hw[0], 2 * scale_hw[1]
    margin = max(scale_hw)  # a fitted image is no larger
    img0 = samples[0]['img']
    plane = np.full((ch + 2 * margin, cw + 2 * margin, *img0.shape[2:]), pad_val, img0.dtype)
    boxes, labels = [], []
    for k, s in enumerate(samples):
        img, r = _fit(s['img'], scale_hw)
        x0 = center[0] - img.shape[1] if k in (0, 2) else center[0]
        y0 = center[1] - img.shape[0] if k in (0, 1) else center[1]
        plane[margin + y0:margin + y0 + img.shape[0], margin + x0:margin + x0 + img.shape[1]] = img
        boxes.append(s['gt_bboxes'] * np.float32(r) + np.array([x0, y0] * 2, np.float32))
        labels.append(s['gt_labels'])
    boxes = np.concatenate(boxes)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, cw)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, ch)
    return (plane[margin:margin + ch, margin:margin + cw],
            *_keep_inside(boxes, np.concatenate(labels), ch, cw))


def _four(rng: np.random.Generator, scale_hw, **image_args) -> list[dict]:
    """Shapes smaller, larger and exactly fitting ``scale_hw`` (no resize)."""
    sizes = [(scale_hw[0], int(rng.integers(1, scale_hw[1] + 1))),
             *[tuple(int(v) for v in rng.integers(3, 2 * max(scale_hw), 2)) for _ in range(3)]]
    rng.shuffle(sizes)
    return [_sample(rng, h, w, **image_args) for h, w in sizes]


@pytest.mark.parametrize('image_args, pad_val', [
    ({}, 114), ({'channels': None}, 0), ({'dtype': np.float32}, 114.5), ({}, (10, 20, 300))])
def test_mosaic_equals_the_painted_canvas(image_args, pad_val):
    scale = (24, 40)
    mosaic = Mosaic(img_scale=scale, center_ratio_range=(0.0, 2.0), pad_val=pad_val)
    rng = np.random.default_rng(0)
    for seed in range(40):
        first, *mix = _four(rng, scale, **image_args)
        np.random.seed(seed)
        np.random.uniform(0, 1)
        center = (int(np.random.uniform(0, 2) * scale[1]), int(np.random.uniform(0, 2) * scale[0]))
        expected = _mosaic_reference([first, *mix], center, scale, pad_val)
        np.random.seed(seed)
        out = mosaic({**first, 'mix_results': mix})
        assert out['img'].dtype == first['img'].dtype
        np.testing.assert_array_equal(out['img'], expected[0])
        np.testing.assert_array_equal(out['gt_bboxes'], expected[1])
        np.testing.assert_array_equal(out['gt_labels'], expected[2])


@pytest.mark.parametrize('center', [(0, 0), (80, 48), (0, 48), (80, 0), (40, 24), (1, 47)])
def test_mosaic_centre_on_the_canvas_border(center):
    rng = np.random.default_rng(1)
    first, *mix = _four(rng, (24, 40))
    out = Mosaic(img_scale=(24, 40)).apply({**first, 'mix_results': mix}, center)
    expected = _mosaic_reference([first, *mix], center, (24, 40), 114)
    np.testing.assert_array_equal(out['img'], expected[0])
    np.testing.assert_array_equal(out['gt_bboxes'], expected[1])


def test_mosaic_at_640_equals_the_painted_canvas():
    rng = np.random.default_rng(2)
    samples = [_sample(rng, h, w) for h, w in [(375, 500), (500, 375), (640, 640), (480, 700)]]
    for seed in range(3):
        np.random.seed(seed)
        np.random.uniform(0, 1)
        center = (int(np.random.uniform(0.5, 1.5) * 640), int(np.random.uniform(0.5, 1.5) * 640))
        np.random.seed(seed)
        out = Mosaic(img_scale=(640, 640))({**samples[0], 'mix_results': samples[1:]})
        expected = _mosaic_reference(samples, center, (640, 640), 114)
        np.testing.assert_array_equal(out['img'], expected[0])
        np.testing.assert_array_equal(out['gt_bboxes'], expected[1])


# --------------------------------------------------------------------------- MixUp
def _mixup_reference(sample: dict, other: dict, scale_hw, ratio_range, flip_ratio, pad_val):
    """mmdetection 2.x's MixUp, drawing from np.random in its order."""
    jitter = np.random.uniform(*ratio_range)
    flip = np.random.uniform(0, 1) > flip_ratio
    img, r = _fit(other['img'], scale_hw)
    canvas = np.full((*scale_hw, *img.shape[2:]), pad_val, img.dtype)
    canvas[:img.shape[0], :img.shape[1]] = img
    size = (int(scale_hw[1] * jitter), int(scale_hw[0] * jitter))
    canvas = cv2.resize(canvas, size).reshape(size[1], size[0], *canvas.shape[2:])
    if flip:
        canvas = canvas[:, ::-1]
    oh, ow = canvas.shape[:2]
    th, tw = sample['img'].shape[:2]
    y_off = np.random.randint(0, oh - th) if oh > th else 0
    x_off = np.random.randint(0, ow - tw) if ow > tw else 0
    window = np.zeros_like(sample['img'])
    part = canvas[y_off:y_off + th, x_off:x_off + tw]
    window[:part.shape[0], :part.shape[1]] = part
    mixed = (0.5 * sample['img'].astype(np.float32) + 0.5 * window.astype(np.float32))
    boxes = other['gt_bboxes'] * np.float32(r * jitter)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, ow)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, oh)
    if flip:
        boxes[:, 0::2] = ow - boxes[:, 2::-2]
    boxes = boxes - np.array([x_off, y_off] * 2, np.float32)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, tw)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, th)
    boxes = np.concatenate([sample['gt_bboxes'], boxes])
    labels = np.concatenate([sample['gt_labels'], other['gt_labels']])
    return (mixed.astype(sample['img'].dtype), *_keep_inside(boxes, labels, th, tw))


@pytest.mark.parametrize('image_args, pad_val', [
    ({}, 114), ({'channels': None}, 0), ({'dtype': np.float32}, 114.5), ({}, (10, 20, 30))])
def test_mixup_equals_mmdetections_computation(image_args, pad_val):
    scale, ratio_range, flip_ratio = (24, 40), (0.5, 2.0), 0.5
    mixup = MixUp(img_scale=scale, ratio_range=ratio_range, flip_ratio=flip_ratio,
                  pad_val=pad_val)
    rng = np.random.default_rng(3)
    for seed in range(40):
        size, other_size = rng.integers(3, 60, (2, 2))
        sample = _sample(rng, *size, **image_args)
        other = _sample(rng, *other_size, **image_args)
        if not len(other['gt_bboxes']):
            continue
        np.random.seed(seed)
        expected = _mixup_reference(sample, other, scale, ratio_range, flip_ratio, pad_val)
        np.random.seed(seed)
        out = mixup({**sample, 'mix_results': [other]})
        assert out['img'].dtype == sample['img'].dtype
        np.testing.assert_array_equal(out['img'], expected[0])
        np.testing.assert_array_equal(out['gt_bboxes'], expected[1])
        np.testing.assert_array_equal(out['gt_labels'], expected[2])


def test_mixup_at_640_equals_mmdetections_computation():
    rng = np.random.default_rng(4)
    sample, other = _sample(rng, 640, 640), _sample(rng, 375, 500)
    other['gt_bboxes'] = np.array([[10, 20, 300, 200]], np.float32)
    other['gt_labels'] = np.array([1])
    for seed in range(4):  # flips and jitters above and below 1
        np.random.seed(seed)
        expected = _mixup_reference(sample, other, (640, 640), (0.8, 1.6), 0.5, 114)
        np.random.seed(seed)
        out = MixUp(img_scale=(640, 640), ratio_range=(0.8, 1.6))(
            {**sample, 'mix_results': [other]})
        np.testing.assert_array_equal(out['img'], expected[0])
        np.testing.assert_array_equal(out['gt_bboxes'], expected[1])


@pytest.mark.parametrize('channels', [None, 1, 3])
def test_uint8_blend_is_the_floor_of_the_mean_for_every_pair(channels):
    a, b = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))
    if channels is not None:
        a, b = np.repeat(a[..., None], channels, 2), np.repeat(b[..., None], channels, 2)
    expected = (0.5 * a.astype(np.float32) + 0.5 * b.astype(np.float32)).astype(np.uint8)
    frame = np.zeros((258, 260, *a.shape[2:]), np.uint8)
    frame[1:-1, 2:-2] = b
    out = blend_half(a, frame[1:-1, 2:-2])  # a view into a canvas, as MixUp's window
    assert out.shape == a.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(blend_half(a[:0], b[:0]), expected[:0])


# --------------------------------------------------------------------------- YOLOXHSVRandomAug
def _hsv_reference(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mmdetection 2.x's int16 HSV arithmetic; returns the image and the gains. With all
    gains 0 the image still goes to HSV and back, which changes some pixels."""
    gains = np.random.uniform(-1, 1, 3) * [5, 30, 30]
    gains = (gains * np.random.randint(0, 2, 3)).astype(np.int16)
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + gains[0]) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] + gains[1], 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] + gains[2], 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR), gains


def test_hsv_aug_equals_int16_arithmetic():
    rng = np.random.default_rng(5)
    changed = set()
    for seed in range(48):
        img = _image(rng, *rng.integers(8, 48, 2))
        np.random.seed(seed)
        expected, gains = _hsv_reference(img)
        changed.add(int(np.count_nonzero(gains)))
        np.random.seed(seed)
        np.testing.assert_array_equal(YOLOXHSVRandomAug()({'img': img.copy()})['img'], expected)
    assert changed == {0, 1, 2, 3}  # no gain, one, two and three channels changed


def test_8bit_hue_is_below_180_for_every_colour():
    """Leaving the hue channel out when its gain is 0 is exact: ``% 180`` changes nothing."""
    colours = np.arange(1 << 24, dtype=np.uint32).view(np.uint8).reshape(4096, 4096, 4)
    hsv = cv2.cvtColor(np.ascontiguousarray(colours[..., :3]), cv2.COLOR_BGR2HSV)
    assert hsv[..., 0].max() < 180
