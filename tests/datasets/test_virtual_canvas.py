"""Lazy Expand: a VirtualCanvas crop equals the crop of the materialised canvas, and a pipeline
with the lazy canvas gives exactly the eager pipeline's output for the same seeds."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmssd.datasets.pipelines import Compose, VirtualCanvas
from mmssd.registry import TRANSFORMS

SSD_NORM = {'mean': [123.675, 116.28, 103.53], 'std': [1, 1, 1], 'to_rgb': True}


def eager_canvas(canvas: VirtualCanvas) -> np.ndarray:
    """The canvas built the obvious way, independently of VirtualCanvas."""
    out = np.empty(canvas.shape, canvas.dtype)
    out[...] = canvas.fill
    h, w = canvas.image.shape[:2]
    out[canvas.top:canvas.top + h, canvas.left:canvas.left + w] = canvas.image
    return out


@st.composite
def canvases(draw) -> VirtualCanvas:
    dtype = draw(st.sampled_from([np.uint8, np.float32, np.uint16, np.int64]))
    channels = draw(st.sampled_from([1, 3, 4, 5]))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    height, width = h + draw(st.integers(0, 12)), w + draw(st.integers(0, 12))
    left, top = draw(st.integers(0, width - w)), draw(st.integers(0, height - h))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    image = rng.integers(0, 200, (h, w, channels)).astype(dtype)
    fill = rng.integers(0, 255, channels).astype(dtype)
    return VirtualCanvas(image, height, width, left, top, fill)


@settings(max_examples=200, deadline=None)
@given(canvases(), st.lists(st.integers(0, 30), min_size=4, max_size=4))
def test_crop_equals_crop_of_materialised_canvas(canvas, bounds):
    x1, y1, x2, y2 = bounds
    full = eager_canvas(canvas)
    np.testing.assert_array_equal(canvas.materialize(), full)
    np.testing.assert_array_equal(np.asarray(canvas), full)
    crop = canvas.crop(x1, y1, x2, y2)
    assert crop.dtype == full.dtype
    np.testing.assert_array_equal(crop, full[y1:y2, x1:x2])


def test_crop_inside_the_image_is_a_view():
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    canvas = VirtualCanvas(image, 10, 12, 3, 2, np.zeros(3, np.uint8))
    crop = canvas.crop(4, 3, 7, 5)
    assert np.shares_memory(crop, image)
    np.testing.assert_array_equal(crop, image[1:3, 1:4])
    with pytest.raises(ValueError, match='does not fit'):
        VirtualCanvas(image, 5, 5, 1, 0, np.zeros(3, np.uint8))


def test_compose_makes_expand_lazy_only_before_a_crop():
    expand = {'type': 'Expand', 'prob': 1.0}
    assert Compose([expand, {'type': 'MinIoURandomCrop'}]).transforms[0].emit_virtual
    assert Compose([expand, {'type': 'RandomCrop', 'crop_size': (5, 5)}]).transforms[0].emit_virtual
    assert not Compose([expand, {'type': 'RandomFlip'}]).transforms[0].emit_virtual
    assert not Compose([expand]).transforms[0].emit_virtual
    assert not Compose([{**expand, 'lazy': False},
                        {'type': 'MinIoURandomCrop'}]).transforms[0].emit_virtual
    assert not TRANSFORMS.build(expand).emit_virtual  # alone: eager


def natural_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    low = rng.integers(0, 256, (3, 4, 3)).astype(np.float32)
    img = np.kron(low, np.ones((h // 3 + 1, w // 4 + 1, 1)))[:h, :w]
    return np.clip(img + rng.normal(0, 20, img.shape), 0, 255).astype(np.uint8)


def sample(rng: np.random.Generator) -> dict:
    h, w = int(rng.integers(20, 60)), int(rng.integers(20, 60))
    n = int(rng.integers(0, 6))
    xy = rng.uniform(0, [w - 2, h - 2], (n, 2))
    wh = rng.uniform(1, [w, h], (n, 2))
    boxes = np.concatenate([xy, np.minimum(xy + wh, [w, h])], 1).astype(np.float32)
    img = natural_image(rng, h, w)
    return {'img': img, 'img_shape': img.shape, 'ori_shape': img.shape, 'img_fields': ['img'],
            'filename': 'x.jpg', 'ori_filename': 'x.jpg',
            'gt_bboxes': boxes, 'gt_labels': np.arange(n, dtype=np.int64),
            'gt_bboxes_ignore': boxes[:1] + 0.5, 'gt_labels_ignore': np.array([7])[:min(n, 1)],
            'bbox_fields': ['gt_bboxes', 'gt_bboxes_ignore']}


PIPELINES = {
    'expand+min_iou_crop': [
        {'type': 'Expand', 'mean': SSD_NORM['mean'], 'to_rgb': True, 'ratio_range': (1, 4)},
        {'type': 'MinIoURandomCrop', 'min_ious': (0.1, 0.3, 0.5, 0.7, 0.9), 'min_crop_size': 0.3},
    ],
    'expand+random_crop': [
        {'type': 'Expand', 'mean': (1, 2, 3), 'ratio_range': (1, 3), 'prob': 0.8},
        {'type': 'RandomCrop', 'crop_size': (0.3, 0.7), 'crop_type': 'relative_range'},
    ],
    'expand+random_crop_absolute': [
        {'type': 'Expand', 'mean': (9, 8, 7), 'ratio_range': (2, 4), 'prob': 1.0},
        {'type': 'RandomCrop', 'crop_size': (40, 50), 'allow_negative_crop': True},
    ],
    'ssd300_train': [
        {'type': 'Expand', 'mean': SSD_NORM['mean'], 'to_rgb': True, 'ratio_range': (1, 4)},
        {'type': 'MinIoURandomCrop', 'min_ious': (0.1, 0.3, 0.5, 0.7, 0.9), 'min_crop_size': 0.3},
        {'type': 'Resize', 'img_scale': (300, 300), 'keep_ratio': False},
        {'type': 'RandomFlip', 'flip_ratio': 0.5},
        {'type': 'PhotoMetricDistortion'},
        {'type': 'Normalize', **SSD_NORM},
        {'type': 'DefaultFormatBundle'},
        {'type': 'Collect', 'keys': ['img', 'gt_bboxes', 'gt_labels']},
    ],
}


def fresh(data: dict) -> dict:
    return {k: v.copy() if isinstance(v, (np.ndarray, list)) else v for k, v in data.items()}


def assert_same(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f'{where}[{key!r}]')
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


@pytest.mark.parametrize('name', list(PIPELINES))
def test_lazy_expand_output_is_identical_to_eager(name):
    steps = PIPELINES[name]
    lazy = Compose(steps)
    eager = Compose([{**steps[0], 'lazy': False}, *steps[1:]])
    assert lazy.transforms[0].emit_virtual and not eager.transforms[0].emit_virtual
    rng = np.random.default_rng(0)
    seen_virtual = 0
    for seed in range(150 if name != 'ssd300_train' else 40):
        data = sample(rng)
        np.random.seed(seed)
        out_lazy = lazy(fresh(data))
        state_lazy = np.random.get_state()[1].copy()
        np.random.seed(seed)
        out_eager = eager(fresh(data))
        np.testing.assert_array_equal(np.random.get_state()[1], state_lazy)  # same draws
        if out_eager is None:
            assert out_lazy is None
            continue
        assert_same(out_lazy, out_eager, f'{name}, seed {seed}')
        np.random.seed(seed)
        after_expand = lazy.transforms[0](fresh(data))
        seen_virtual += isinstance(after_expand['img'], VirtualCanvas)
    assert seen_virtual > 10
