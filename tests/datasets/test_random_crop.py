"""RandomCrop: mmdetection 2.x crop sizes, offsets, box clipping and dropping."""
from __future__ import annotations

import numpy as np
import pytest

from mmssd.datasets.pipelines import RandomCrop
from mmssd.registry import TRANSFORMS


def results_for(h: int, w: int, boxes, ignore=None) -> dict:
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    ignore = np.zeros((0, 4), np.float32) if ignore is None else np.asarray(ignore, np.float32)
    img = np.arange(h * w * 3, dtype=np.int64).reshape(h, w, 3).astype(np.float32)
    return {'img': img, 'img_shape': img.shape, 'img_fields': ['img'],
            'gt_bboxes': boxes, 'gt_labels': np.arange(len(boxes), dtype=np.int64),
            'gt_bboxes_ignore': ignore, 'gt_labels_ignore': np.arange(len(ignore)) + 100,
            'bbox_fields': ['gt_bboxes', 'gt_bboxes_ignore']}


def test_registered_and_validated():
    crop = TRANSFORMS.build({'type': 'RandomCrop', 'crop_size': (3, 4)})
    assert isinstance(crop, RandomCrop) and 'absolute' in repr(crop)
    for bad in [{'crop_size': (3, 4), 'crop_type': 'square'},
                {'crop_size': (0, 4)}, {'crop_size': (2.5, 4)},
                {'crop_size': (0.5, 1.5), 'crop_type': 'relative'},
                {'crop_size': (9, 4), 'crop_type': 'absolute_range'}]:
        with pytest.raises(ValueError):
            RandomCrop(**bad)
    with pytest.raises(NotImplementedError):
        RandomCrop((3, 4), recompute_bbox=True)


def test_absolute_crop_offsets_boxes_and_pixels():
    """The offsets are mmdetection's draws: randint(margin_h + 1), then randint(margin_w + 1)."""
    for seed in range(20):
        results = results_for(30, 40, [[0, 0, 40, 30], [5, 5, 9, 9]])
        img = results['img'].copy()
        np.random.seed(seed)
        y1, x1 = np.random.randint(0, 30 - 10 + 1), np.random.randint(0, 40 - 20 + 1)
        np.random.seed(seed)
        out = RandomCrop((10, 20), allow_negative_crop=True)(results)
        assert out['img_shape'] == out['img'].shape == (10, 20, 3)
        np.testing.assert_array_equal(out['img'], img[y1:y1 + 10, x1:x1 + 20])
        np.testing.assert_array_equal(out['gt_bboxes'][0], [0, 0, 20, 10])
        small = np.array([5 - x1, 5 - y1, 9 - x1, 9 - y1], np.float32).clip(0, [20, 10, 20, 10])
        if (small[2:] > small[:2]).all():
            assert out['gt_labels'].tolist() == [0, 1]
            np.testing.assert_array_equal(out['gt_bboxes'][1], small)
        else:
            assert out['gt_labels'].tolist() == [0]


def test_crop_sizes_per_type():
    img_h, img_w = 40, 50
    np.random.seed(0)
    assert RandomCrop((100, 20))(results_for(img_h, img_w, [[0, 0, 50, 40]]))['img'].shape[:2] \
        == (40, 20)
    out = RandomCrop((0.5, 0.25), crop_type='relative')(results_for(img_h, img_w,
                                                                      [[0, 0, 50, 40]]))
    assert out['img'].shape[:2] == (20, 13)  # int(40 * 0.5 + 0.5), int(50 * 0.25 + 0.5)
    for _ in range(30):
        out = RandomCrop((0.3, 0.6), crop_type='relative_range')(
            results_for(img_h, img_w, [[0, 0, 50, 40]]))
        h, w = out['img'].shape[:2]
        assert 12 <= h <= 40 and 30 <= w <= 50
        out = RandomCrop((10, 45), crop_type='absolute_range')(
            results_for(img_h, img_w, [[0, 0, 50, 40]]))
        h, w = out['img'].shape[:2]
        assert 10 <= h <= 40 and 10 <= w <= 45


def test_no_surviving_box_drops_the_sample_unless_allowed():
    boxes = [[0, 0, 25, 25]]
    results = results_for(50, 50, boxes)
    crop = RandomCrop((10, 10))
    outs = []
    for seed in range(30):
        np.random.seed(seed)
        outs.append(crop(results_for(50, 50, boxes)))
    assert any(o is None for o in outs) and any(o is not None for o in outs)
    np.random.seed(next(s for s, o in enumerate(outs) if o is None))
    out = RandomCrop((10, 10), allow_negative_crop=True)(results)
    assert out is not None and out['gt_bboxes'].shape == (0, 4)
    assert out['gt_labels'].shape == (0,) and out['img'].shape == (10, 10, 3)


def test_ignore_boxes_and_their_labels_are_filtered_together():
    for seed in range(15):
        results = results_for(20, 20, [[0, 0, 20, 20]], ignore=[[0, 0, 3, 3], [15, 15, 20, 20]])
        np.random.seed(seed)
        np.random.randint(0, 1)
        x1 = np.random.randint(0, 11)
        np.random.seed(seed)
        out = RandomCrop((20, 10))(results)
        expected = [100] * (x1 < 3) + [101] * (x1 > 5)
        assert out['gt_labels_ignore'].tolist() == expected
        assert len(out['gt_bboxes_ignore']) == len(expected)
        assert (out['gt_bboxes_ignore'][:, 2] > out['gt_bboxes_ignore'][:, 0]).all()


def test_without_clipping_boxes_keep_their_extent():
    np.random.seed(1)
    out = RandomCrop((10, 10), bbox_clip_border=False)(results_for(30, 30, [[0, 0, 30, 30]]))
    w = out['gt_bboxes'][0, 2] - out['gt_bboxes'][0, 0]
    assert w == 30
