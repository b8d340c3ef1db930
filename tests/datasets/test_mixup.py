"""MixUp: the output is the half-and-half sum and the union of the boxes."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from mmssd.datasets.pipelines import MixUp


def _pair() -> dict:
    rng = np.random.default_rng(0)
    own = {'img': rng.integers(0, 256, (32, 48, 3), dtype=np.uint8),
           'gt_bboxes': np.array([[1, 2, 10, 12]], np.float32), 'gt_labels': np.array([0]),
           'bbox_fields': ['gt_bboxes']}
    other = {'img': rng.integers(0, 256, (16, 24, 3), dtype=np.uint8),
             'gt_bboxes': np.array([[2, 1, 6, 5], [20, 10, 24, 16]], np.float32),
             'gt_labels': np.array([1, 2])}
    own['mix_results'] = [other]
    return own


@pytest.mark.parametrize('flip', [False, True])
def test_weighted_sum_and_union_of_boxes(flip):
    # img_scale = own size, jitter 1: the other image is scaled x2 to fill it, no offset
    mixup = MixUp(img_scale=(32, 48), ratio_range=(1, 1), flip_ratio=-1 if flip else 1)
    sample = _pair()
    own_img, other_img = sample['img'].copy(), sample['mix_results'][0]['img']
    out = mixup(sample)
    other = cv2.resize(other_img, (48, 32))
    other_boxes = np.array([[4, 2, 12, 10], [40, 20, 48, 32]], np.float32)
    if flip:
        other = other[:, ::-1]
        other_boxes = np.array([[36, 2, 44, 10], [0, 20, 8, 32]], np.float32)
    expected = (0.5 * own_img.astype(np.float32) + 0.5 * other.astype(np.float32)).astype(np.uint8)
    np.testing.assert_array_equal(out['img'], expected)
    np.testing.assert_allclose(out['gt_bboxes'], np.concatenate([[[1, 2, 10, 12]], other_boxes]))
    np.testing.assert_array_equal(out['gt_labels'], [0, 1, 2])


def test_window_offset_shifts_and_cuts_the_other_boxes():
    sample = _pair()
    canvas = np.full((64, 96, 3), 50, np.uint8)  # the other image scaled by 4, say
    out = MixUp(img_scale=(32, 48)).apply(sample, canvas, 4.0, False, (40, 20))
    # (8, 4, 24, 20) - (40, 20) is outside; (80, 40, 96, 64) - (40, 20) = (40, 20, 56, 44)
    # cut to the 48 x 32 window
    np.testing.assert_allclose(out['gt_bboxes'], [[1, 2, 10, 12], [40, 20, 48, 32]])
    np.testing.assert_array_equal(out['gt_labels'], [0, 2])


def test_other_without_boxes_leaves_the_sample():
    sample = _pair()
    sample['mix_results'][0]['gt_bboxes'] = np.zeros((0, 4), np.float32)
    img = sample['img'].copy()
    np.testing.assert_array_equal(MixUp(img_scale=(32, 48))(sample)['img'], img)
