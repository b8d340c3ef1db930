"""Pipeline transforms: boxes stay consistent with the image; 2.x keys and semantics."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmssd.datasets.pipelines import Compose
from mmssd.registry import TRANSFORMS
from mmssd.structures.bbox import bbox_flip


def box_image(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """(H, W, 3) uint8 zeros with the integer xyxy ``box`` filled with 255."""
    img = np.zeros((h, w, 3), np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = 255
    return img


def painted_extent(img: np.ndarray) -> np.ndarray:
    """xyxy extent of the pixels > 127 (x2/y2 exclusive)."""
    ys, xs = np.nonzero(img[..., 0] > 127)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def results_for(img: np.ndarray, boxes: np.ndarray) -> dict:
    n = len(boxes)
    return {'img': img, 'img_shape': img.shape, 'ori_shape': img.shape, 'img_fields': ['img'],
            'gt_bboxes': np.asarray(boxes, np.float32).reshape(-1, 4),
            'gt_labels': np.arange(n, dtype=np.int64),
            'gt_bboxes_ignore': np.zeros((0, 4), np.float32),
            'bbox_fields': ['gt_bboxes', 'gt_bboxes_ignore']}


@st.composite
def image_and_box(draw):
    h = draw(st.integers(8, 40))
    w = draw(st.integers(8, 40))
    x1 = draw(st.integers(0, w - 2))
    y1 = draw(st.integers(0, h - 2))
    x2 = draw(st.integers(x1 + 1, w))
    y2 = draw(st.integers(y1 + 1, h))
    return h, w, (x1, y1, x2, y2)


@settings(max_examples=60, deadline=None)
@given(image_and_box(), st.integers(0, 2**31 - 1))
def test_expand_crop_flip_keep_boxes_on_their_pixels(spec, seed):
    """Integer-exact chain: the box is the extent of its painted pixels after each step."""
    h, w, box = spec
    np.random.seed(seed)
    pipeline = Compose([
        {'type': 'Expand', 'mean': (0, 0, 0), 'ratio_range': (1, 3), 'prob': 0.7},
        {'type': 'MinIoURandomCrop', 'min_crop_size': 0.3},
        {'type': 'RandomFlip', 'flip_ratio': [0.3, 0.3, 0.3],
         'direction': ['horizontal', 'vertical', 'diagonal']},
    ])
    out = pipeline(results_for(box_image(h, w, box), np.array([box])))
    img, boxes = out['img'], out['gt_bboxes']
    assert out['img_shape'] == img.shape
    assert boxes.shape == (1, 4) and boxes.dtype == np.float32
    height, width = img.shape[:2]
    assert (boxes[:, 0::2] >= 0).all() and (boxes[:, 0::2] <= width).all()
    assert (boxes[:, 1::2] >= 0).all() and (boxes[:, 1::2] <= height).all()
    np.testing.assert_array_equal(boxes[0], painted_extent(img))


@settings(max_examples=40, deadline=None)
@given(image_and_box(), st.integers(8, 64), st.integers(8, 64), st.booleans())
def test_resize_scales_boxes_with_pixels(spec, out_w, out_h, keep_ratio):
    h, w, box = spec
    resize = TRANSFORMS.build({'type': 'Resize', 'img_scale': (out_w, out_h),
                                   'keep_ratio': keep_ratio, 'interpolation': 'nearest'})
    out = resize(results_for(box_image(h, w, box), np.array([box])))
    img, boxes, sf = out['img'], out['gt_bboxes'], out['scale_factor']
    assert sf.dtype == np.float32 and sf.shape == (4,)
    assert out['img_shape'] == img.shape == out['pad_shape']
    if not keep_ratio:
        assert img.shape[:2] == (out_h, out_w)
    else:
        assert max(img.shape[:2]) <= max(out_w, out_h) + 1
        assert min(img.shape[:2]) <= min(out_w, out_h) + 1
    np.testing.assert_allclose(boxes[0], np.array(box) * sf, rtol=1e-5)
    if (img[..., 0] > 127).any():  # nearest sampling may drop a 1-px box
        extent = painted_extent(img)
        tol = 1.01 * sf[:2].max() + 1
        np.testing.assert_allclose(extent, boxes[0], atol=tol)


LABEL_VALUE = 60  # box k is painted with LABEL_VALUE * (k + 1)

RESIZE = st.builds(lambda w, h, keep: {'type': 'Resize', 'img_scale': (w, h), 'keep_ratio': keep,
                                       'interpolation': 'nearest'},
                   st.integers(8, 64), st.integers(8, 64), st.booleans())
NON_RESIZE_STEP = st.one_of(
    st.builds(lambda r, p: {'type': 'Expand', 'mean': (0, 0, 0), 'ratio_range': (1, r), 'prob': p},
              st.floats(1, 3), st.sampled_from([0.5, 1.0])),
    st.builds(lambda m, c: {'type': 'MinIoURandomCrop', 'min_ious': m, 'min_crop_size': c},
              st.sampled_from([(0.1, 0.3, 0.5, 0.7, 0.9), (0.1,), (0.5,)]),
              st.sampled_from([0.3, 0.6])),
    st.builds(lambda size, neg: {'type': 'RandomCrop', 'crop_size': size, 'crop_type': 'absolute',
                                 'allow_negative_crop': neg},
              st.tuples(st.integers(4, 40), st.integers(4, 40)), st.booleans()),
    st.builds(lambda lo, extra: {'type': 'RandomCrop', 'crop_size': (lo, lo + extra),
                                 'crop_type': 'absolute_range', 'allow_negative_crop': True},
              st.integers(4, 30), st.integers(0, 20)),
    st.builds(lambda size, kind: {'type': 'RandomCrop', 'crop_size': size, 'crop_type': kind},
              st.tuples(st.floats(0.3, 1), st.floats(0.3, 1)),
              st.sampled_from(['relative', 'relative_range'])),
    st.builds(lambda ratio, d: {'type': 'RandomFlip', 'flip_ratio': ratio, 'direction': d},
              st.sampled_from([0.5, 1.0]), st.sampled_from(['horizontal', 'vertical', 'diagonal'])),
)
PAD = st.one_of(st.builds(lambda d: {'type': 'Pad', 'size_divisor': d}, st.sampled_from([4, 32])),
                st.just({'type': 'Pad', 'pad_to_square': True}))


@st.composite
def geometric_chain(draw) -> list[dict]:
    """1-6 geometric steps: up to 4 of Expand, the crops and RandomFlip, at most one
    (nearest) Resize anywhere, maybe a final Pad (flipping a padded image would move the
    padding, so mmdetection pads last)."""
    steps = draw(st.lists(NON_RESIZE_STEP, min_size=0, max_size=4))
    if draw(st.booleans()):
        steps.insert(draw(st.integers(0, len(steps))), draw(RESIZE))
    if not steps or draw(st.booleans()):
        steps.append(draw(PAD))
    return steps


@st.composite
def painted_boxes(draw) -> tuple[np.ndarray, np.ndarray]:
    """An (h, w, 3) uint8 image with 1-4 disjoint boxes (one per 2x2 grid cell), box k
    painted with LABEL_VALUE * (k + 1); -> (image, (N, 4) boxes)."""
    h, w = draw(st.integers(16, 48)), draw(st.integers(16, 48))
    cells = draw(st.lists(st.sampled_from(range(4)), min_size=1, max_size=4, unique=True))
    img = np.zeros((h, w, 3), np.uint8)
    boxes = []
    for k, cell in enumerate(sorted(cells)):
        cx, cy = (cell % 2) * (w // 2), (cell // 2) * (h // 2)
        x1 = cx + draw(st.integers(0, w // 2 - 4))
        y1 = cy + draw(st.integers(0, h // 2 - 4))
        x2 = draw(st.integers(x1 + 3, cx + w // 2))
        y2 = draw(st.integers(y1 + 3, cy + h // 2))
        img[y1:y2, x1:x2] = LABEL_VALUE * (k + 1)
        boxes.append((x1, y1, x2, y2))
    return img, np.array(boxes, np.float32)


@settings(max_examples=150, deadline=None)
@given(painted_boxes(), geometric_chain(), st.integers(0, 2**31 - 1))
def test_geometric_chain_keeps_boxes_inside_and_labels_aligned(image_boxes, steps, seed):
    """Any chain of Expand, MinIoURandomCrop, RandomCrop, Resize, RandomFlip and Pad: boxes
    lie inside ``img_shape``, labels follow their boxes (a box's centre pixel still holds
    its own colour) and every field stays consistent."""
    img, boxes = image_boxes
    np.random.seed(seed)
    out = Compose(steps)(results_for(img, boxes))
    if out is None:  # RandomCrop without a surviving box
        assert any(s['type'] == 'RandomCrop' and not s.get('allow_negative_crop') for s in steps)
        return
    img, boxes, labels = out['img'], out['gt_bboxes'], out['gt_labels']
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3
    assert boxes.dtype == np.float32 and boxes.shape == (len(labels), 4)
    assert labels.dtype == np.int64 and (np.diff(labels) > 0).all()  # a subsequence
    height, width = out['img_shape'][:2]
    if steps[-1]['type'] == 'Pad':
        assert img.shape == out['pad_shape'] and height <= img.shape[0] and width <= img.shape[1]
    else:
        assert img.shape == out['img_shape']
    assert (boxes[:, 0::2] >= 0).all() and (boxes[:, 0::2] <= width).all()
    assert (boxes[:, 1::2] >= 0).all() and (boxes[:, 1::2] <= height).all()
    assert (boxes[:, 2:] >= boxes[:, :2]).all()
    for box, label in zip(boxes, labels):
        if (box[2:] - box[:2]).min() >= 3:
            cx, cy = int((box[0] + box[2]) / 2), int((box[1] + box[3]) / 2)
            assert img[cy, cx, 0] == LABEL_VALUE * (label + 1), (box, label)


@settings(max_examples=60, deadline=None)
@given(image_and_box(), st.sampled_from(['horizontal', 'vertical', 'diagonal']),
       st.sampled_from([(3, np.uint8), (1, np.uint8), (4, np.uint8), (3, np.float32),
                        (2, np.int64)]))
def test_flip_twice_is_identity(spec, direction, channels_dtype):
    h, w, box = spec
    channels, dtype = channels_dtype
    flip = TRANSFORMS.build({'type': 'RandomFlip', 'flip_ratio': 1.0, 'direction': direction})
    img = np.repeat(box_image(h, w, box)[..., :1], channels, axis=2).astype(dtype)
    results = results_for(img, np.array([box]))
    img0, boxes0 = results['img'].copy(), results['gt_bboxes'].copy()
    once = flip(results)
    assert once['flip'] and once['flip_direction'] == direction
    assert once['img'].shape == img0.shape and once['img'].flags.c_contiguous
    np.testing.assert_array_equal(once['gt_bboxes'][0], painted_extent(once['img']))
    axes = {'horizontal': (1,), 'vertical': (0,), 'diagonal': (0, 1)}[direction]
    np.testing.assert_array_equal(once['img'], np.flip(img0, axes))
    once.pop('flip')
    twice = flip(once)
    np.testing.assert_array_equal(twice['img'], img0)
    np.testing.assert_array_equal(twice['gt_bboxes'], boxes0)
    np.testing.assert_array_equal(bbox_flip(bbox_flip(boxes0, (h, w), direction), (h, w),
                                            direction), boxes0)


def test_min_iou_crop_drops_boxes_and_labels_together():
    np.random.seed(1)
    crop = TRANSFORMS.build({'type': 'MinIoURandomCrop', 'min_ious': (0.1,), 'min_crop_size': 0.3})
    boxes = np.array([[0, 0, 10, 10], [80, 80, 100, 100], [40, 40, 60, 60]], np.float32)
    for _ in range(30):
        out = crop(results_for(np.zeros((100, 100, 3), np.uint8), boxes))
        assert len(out['gt_bboxes']) == len(out['gt_labels']) >= 1
        height, width = out['img'].shape[:2]
        assert (out['gt_bboxes'][:, 2] <= width).all() and (out['gt_bboxes'][:, 3] <= height).all()


def test_expand_fills_mean_in_bgr():
    np.random.seed(0)
    expand = TRANSFORMS.build({'type': 'Expand', 'mean': (10, 20, 30), 'to_rgb': True,
                                   'ratio_range': (2, 2), 'prob': 1.0})
    out = expand(results_for(np.full((10, 10, 3), 255, np.uint8), np.zeros((0, 4))))
    assert out['img'].shape == (20, 20, 3)
    corner = out['img'][out['img'][..., 0] != 255][0]
    assert corner.tolist() == [30, 20, 10]


def test_normalize_pad_photometric_and_format():
    img = np.random.RandomState(0).randint(0, 255, (30, 41, 3)).astype(np.uint8)
    results = results_for(img, np.array([[1, 2, 10, 12]]))
    results.update(ori_filename='x.jpg', filename='/d/x.jpg', img_id=42,
                   scale_factor=np.ones(4, np.float32), flip=False, flip_direction=None)
    np.random.seed(3)
    pipeline = Compose([
        {'type': 'PhotoMetricDistortion'},
        {'type': 'Normalize', 'mean': [1, 2, 3], 'std': [2, 2, 2], 'to_rgb': True},
        {'type': 'Pad', 'size_divisor': 16},
        {'type': 'DefaultFormatBundle'},
        {'type': 'Collect', 'keys': ['img', 'gt_bboxes', 'gt_labels']},
    ])
    out = pipeline(results)
    assert set(out) == {'img', 'img_metas', 'gt_bboxes', 'gt_labels'}
    assert out['img'].shape == (3, 32, 48) and out['img'].dtype == torch.float32
    assert out['gt_bboxes'].dtype == torch.float32 and out['gt_labels'].dtype == torch.int64
    meta = out['img_metas']
    assert meta['img_id'] == 42 and meta['pad_shape'] == (32, 48, 3)
    assert meta['img_shape'] == (30, 41, 3)
    assert meta['img_norm_cfg']['to_rgb'] is True
    np.testing.assert_allclose(meta['img_norm_cfg']['mean'], [1, 2, 3])


def test_normalize_matches_formula():
    img = np.random.RandomState(0).randint(0, 255, (5, 6, 3)).astype(np.uint8)
    norm = TRANSFORMS.build({'type': 'Normalize', 'mean': [1, 2, 3], 'std': [2, 4, 8],
                             'to_rgb': True})
    out = norm({'img': img.copy()})['img']
    np.testing.assert_allclose(out, (img[..., ::-1] - [1, 2, 3]) / [2, 4, 8], rtol=1e-5)


def test_collect_missing_key_is_named():
    collect = TRANSFORMS.build({'type': 'Collect', 'keys': ['img']})
    with pytest.raises(KeyError, match='pad_shape'):
        collect({'img': 1, 'filename': 'a', 'ori_filename': 'a', 'ori_shape': 1,
                 'img_shape': 1, 'scale_factor': 1, 'flip': False, 'flip_direction': None,
                 'img_norm_cfg': {}})


def test_multi_scale_flip_aug_lists(coco_root: Path):
    pipeline = Compose([
        {'type': 'LoadImageFromFile'},
        {'type': 'MultiScaleFlipAug', 'img_scale': [(32, 32), (64, 48)], 'flip': True,
         'transforms': [{'type': 'Resize', 'keep_ratio': False}, {'type': 'RandomFlip'},
                        {'type': 'Normalize', 'mean': [0, 0, 0], 'std': [1, 1, 1]},
                        {'type': 'ImageToTensor', 'keys': ['img']},
                        {'type': 'Collect', 'keys': ['img']}]},
    ])
    out = pipeline({'img_prefix': str(coco_root / 'imgs'), 'img_info': {'filename': 'a.jpg'},
                    'img_id': 1})
    assert [tuple(t.shape) for t in out['img']] == [(3, 32, 32)] * 2 + [(3, 48, 64)] * 2
    assert [m['flip'] for m in out['img_metas']] == [False, True, False, True]
    assert all(m['img_id'] == 1 and m['ori_shape'] == (48, 64, 3) for m in out['img_metas'])


def test_unknown_transform_suggests():
    with pytest.raises(KeyError, match='RandomFlip'):
        Compose([{'type': 'RandomFlp'}])
