"""Mosaic: images and boxes where a hand computation puts them."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from mmssd.datasets.pipelines import Mosaic

PAD = 114


def _sample(h: int, w: int, seed: int | None, boxes: list, labels: list) -> dict:
    if seed is None:  # constant: exact after any bilinear resize
        img = np.full((h, w, 3), 7 * (len(boxes) + 1), np.uint8)
    else:
        img = np.random.default_rng(seed).integers(0, 100, (h, w, 3), dtype=np.uint8)
    return {'img': img, 'gt_bboxes': np.array(boxes, np.float32).reshape(-1, 4),
            'gt_labels': np.array(labels, np.int64), 'bbox_fields': ['gt_bboxes']}


def _four() -> list[dict]:
    # img_scale (h=40, w=60): ratios 2, 1, 1, 0.5 -> scaled sizes (h, w) 40x40, 40x30, 10x60, 40x30
    return [_sample(20, 20, None, [[2, 12, 8, 18], [0, 0, 10, 4], [0, 2, 10, 8]], [0, 1, 2]),
            _sample(40, 30, 1, [[0, 0, 30, 40]], [3]),
            _sample(10, 60, 2, [[0, 0, 20, 10]], [4]),
            _sample(80, 60, None, [[20, 20, 60, 80], [0, 70, 60, 80]], [5, 6])]


def _reference(samples: list[dict], center: tuple[int, int], scale_hw=(40, 60)):
    """Paint each scaled image on a plane, its corner at the centre, and cut the canvas."""
    ch, cw = 2 * scale_hw[0], 2 * scale_hw[1]
    margin = 200
    plane = np.full((ch + 2 * margin, cw + 2 * margin, 3), PAD, np.uint8)
    boxes, labels = [], []
    cx, cy = center
    for k, s in enumerate(samples):
        h, w = s['img'].shape[:2]
        r = min(scale_hw[0] / h, scale_hw[1] / w)
        img = cv2.resize(s['img'], (int(w * r), int(h * r)))
        sh, sw = img.shape[:2]
        x0 = cx - sw if k in (0, 2) else cx
        y0 = cy - sh if k in (0, 1) else cy
        plane[margin + y0:margin + y0 + sh, margin + x0:margin + x0 + sw] = img
        b = s['gt_bboxes'] * r + [x0, y0, x0, y0]
        boxes.append(b)
        labels.append(s['gt_labels'])
    boxes = np.concatenate(boxes)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, cw)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, ch)
    keep = (boxes[:, 2] > 0) & (boxes[:, 0] < cw) & (boxes[:, 3] > 0) & (boxes[:, 1] < ch)
    keep &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return plane[margin:margin + ch, margin:margin + cw], boxes[keep], np.concatenate(labels)[keep]


def _run(center: tuple[int, int]) -> dict:
    first, *mix = _four()
    first['mix_results'] = mix
    return Mosaic(img_scale=(40, 60), pad_val=PAD).apply(first, center)


def test_fixed_centre_by_hand():
    out = _run((50, 30))
    assert out['img'].shape == (80, 120, 3)
    # the boxes, computed by hand: top-left scaled x2 and shifted by (10, -10); one wholly
    # above the canvas is dropped, one cut at the top; top-right shifted (50, -10) and cut;
    # bottom-left shifted (-10, 30) and cut at the left; bottom-right x0.5 then (50, 30).
    np.testing.assert_allclose(out['gt_bboxes'], [
        [14, 14, 26, 26], [10, 0, 30, 6], [50, 0, 80, 30], [0, 30, 10, 40], [60, 40, 80, 70],
        [50, 65, 80, 70]])
    np.testing.assert_array_equal(out['gt_labels'], [0, 2, 3, 4, 5, 6])
    img = out['img']
    assert (img[0:30, 10:50] == 28).all() and (img[30:70, 50:80] == 21).all()  # constant ones
    top_right = np.random.default_rng(1).integers(0, 100, (40, 30, 3), dtype=np.uint8)
    np.testing.assert_array_equal(img[0:30, 50:80], top_right[10:40])  # rows cut at the top
    bottom_left = np.random.default_rng(2).integers(0, 100, (10, 60, 3), dtype=np.uint8)
    np.testing.assert_array_equal(img[30:40, 0:50], bottom_left[:, 10:60])  # cut at the left
    assert (img[0:30, 0:10] == PAD).all() and (img[40:, 0:50] == PAD).all()
    assert (img[:, 80:] == PAD).all() and (img[70:, :] == PAD).all()


@pytest.mark.parametrize('center', [(50, 30), (5, 75), (115, 3), (100, 60), (60, 40)])
def test_every_quadrant_and_border_matches_the_painted_reference(center):
    out = _run(center)
    img, boxes, labels = _reference(_four(), center)
    np.testing.assert_array_equal(out['img'], img)
    np.testing.assert_allclose(out['gt_bboxes'], boxes)
    np.testing.assert_array_equal(out['gt_labels'], labels)


def test_ignore_boxes_and_their_labels_move_too():
    first, *mix = _four()
    for k, s in enumerate([first, *mix]):
        s['gt_bboxes_ignore'] = np.array([[12, 2, 16, 6]], np.float32)
        s['gt_labels_ignore'] = np.array([10 + k])
        s['bbox_fields'] = ['gt_bboxes', 'gt_bboxes_ignore']
    first['mix_results'] = mix
    out = Mosaic(img_scale=(40, 60)).apply(first, (50, 30))
    # top-left x2 + (10, -10), cut at the top; top-right + (50, -10) wholly above the
    # canvas, dropped; bottom-left + (-10, 30); bottom-right x0.5 + (50, 30)
    np.testing.assert_allclose(out['gt_bboxes_ignore'],
                               [[34, 0, 42, 2], [2, 32, 6, 36], [56, 31, 58, 33]])
    np.testing.assert_array_equal(out['gt_labels_ignore'], [10, 12, 13])


def test_draws_and_bad_input():
    first, *mix = _four()
    first['mix_results'] = mix
    np.random.seed(3)
    out = Mosaic(img_scale=(40, 60)).__call__(dict(first))
    np.random.seed(3)
    np.random.uniform(0, 1)
    center = (int(np.random.uniform(0.5, 1.5) * 60), int(np.random.uniform(0.5, 1.5) * 40))
    expected = Mosaic(img_scale=(40, 60)).apply(first, center)['img']
    np.testing.assert_array_equal(out['img'], expected)
    with pytest.raises(ValueError, match='img_scale'):
        Mosaic(img_scale=640)
    with pytest.raises(KeyError, match='MultiImageMixDataset'):
        Mosaic(img_scale=(40, 60)).apply(_four()[0], (50, 30))
