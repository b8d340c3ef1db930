"""RandomAffine: a fixed matrix moves image and boxes as it says; the filters drop boxes."""
from __future__ import annotations

import math

import numpy as np

from mmssd.datasets.pipelines import RandomAffine


def _results(boxes: list, labels: list) -> dict:
    img = np.zeros((40, 60, 3), np.uint8)
    img[10:20, 5:25] = 200  # a block the matrix moves
    return {'img': img, 'gt_bboxes': np.array(boxes, np.float32), 'gt_labels': np.array(labels),
            'gt_bboxes_ignore': np.array([[5, 10, 25, 20]], np.float32),
            'bbox_fields': ['gt_bboxes', 'gt_bboxes_ignore']}


def test_scale_and_translation_move_image_and_boxes():
    # x' = 2 x + 10, y' = 2 y + 5
    matrix = np.array([[2, 0, 10], [0, 2, 5], [0, 0, 1]], np.float32)
    out = RandomAffine(border_val=(0, 0, 0)).apply(
        _results([[5, 10, 25, 20], [50, 30, 60, 40], [0, 0, 2, 2]], [1, 2, 3]), matrix, 2.0,
        (80, 60))
    assert out['img'].shape == (60, 80, 3)
    # the block (5..25, 10..20) lands on (20..60, 25..45), its inside pixels exactly
    assert (out['img'][27:43, 22:58] == 200).all()
    assert (out['img'][:23] == 0).all() and (out['img'][47:] == 0).all()
    # box 2 lands at (110.., 65..): wholly outside, dropped; box 3 (10, 5, 14, 9) kept
    np.testing.assert_allclose(out['gt_bboxes'], [[20, 25, 60, 45], [10, 5, 14, 9]])
    np.testing.assert_array_equal(out['gt_labels'], [1, 3])
    np.testing.assert_allclose(out['gt_bboxes_ignore'], [[20, 25, 60, 45]])


def test_rotation_takes_the_hull_of_the_corners():
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    matrix = np.array([[c, -s, 30], [s, c, 0], [0, 0, 1]], np.float32)
    out = RandomAffine().apply(_results([[10, 10, 20, 30]], [0]), matrix, 1.0, (60, 40))
    corners = np.array([[10, 10], [10, 30], [20, 30], [20, 10]], np.float64)
    xs = c * corners[:, 0] - s * corners[:, 1] + 30
    ys = s * corners[:, 0] + c * corners[:, 1]
    np.testing.assert_allclose(out['gt_bboxes'][0], [xs.min(), ys.min(), xs.max(), ys.max()],
                               rtol=1e-5)


def test_filters_drop_what_they_name():
    matrix = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    boxes = [[10, 10, 30, 30],   # kept
             [10, 10, 11, 30],   # 1 px wide: below min_bbox_size=2
             [50, 10, 80, 20],   # cut by the border to 10 of 30 px: area ratio 1/3 < 0.5
             [0, 0, 40, 1.5]]    # aspect 40 / 1.5 > 20 (and below min size in h)
    affine = RandomAffine(skip_filter=False, min_bbox_size=1.2, min_area_ratio=0.5,
                          max_aspect_ratio=20)
    out = affine.apply(_results(boxes, [0, 1, 2, 3]), matrix, 1.0, (60, 40))
    np.testing.assert_array_equal(out['gt_labels'], [0])
    out = RandomAffine(skip_filter=True).apply(_results(boxes, [0, 1, 2, 3]), matrix, 1.0, (60, 40))
    np.testing.assert_array_equal(out['gt_labels'], [0, 1, 2, 3])


def test_random_matrix_draws_in_mmdetections_order():
    affine = RandomAffine(border=(-5, -10))
    np.random.seed(0)
    out = affine(_results([[5, 10, 25, 20]], [0]))
    np.random.seed(0)
    rot, scale = np.random.uniform(-10, 10), np.random.uniform(0.5, 1.5)
    sx, sy = np.random.uniform(-2, 2), np.random.uniform(-2, 2)
    tx, ty = np.random.uniform(-0.1, 0.1) * 40, np.random.uniform(-0.1, 0.1) * 30
    r = math.radians(rot)
    expected = (np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
                @ np.array([[1, math.tan(math.radians(sx)), 0],
                            [math.tan(math.radians(sy)), 1, 0], [0, 0, 1]])
                @ np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0],
                            [0, 0, 1]]) @ np.diag([scale, scale, 1]))
    ref = RandomAffine().apply(_results([[5, 10, 25, 20]], [0]), expected, scale, (40, 30))
    assert out['img'].shape == (30, 40, 3)
    np.testing.assert_allclose(out['gt_bboxes'], ref['gt_bboxes'], atol=1e-3)
