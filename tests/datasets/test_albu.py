"""``Albu`` on the real albumentations package: 2.x arguments, boxes and labels together."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_transforms import LABEL_VALUE, painted_boxes, results_for  # same directory

from mmssd.registry import DATASETS, TRANSFORMS

BBOX_PARAMS = dict(type='BboxParams', format='pascal_voc', label_fields=['gt_labels'],
                   filter_lost_elements=True)


def albu(transforms: list[dict], **kwargs) -> object:
    kwargs.setdefault('bbox_params', BBOX_PARAMS)
    return TRANSFORMS.build(dict(type='Albu', transforms=transforms, **kwargs))


def with_ignore(img: np.ndarray, boxes: np.ndarray, ignore: np.ndarray) -> dict:
    results = results_for(img, boxes)
    results['gt_bboxes_ignore'] = np.asarray(ignore, np.float32).reshape(-1, 4)
    results['gt_labels_ignore'] = np.arange(len(results['gt_bboxes_ignore'])) + 10
    return results


@settings(max_examples=40, deadline=None)
@given(painted_boxes(), st.sampled_from([[dict(type='NoOp')],
                                         [dict(type='HorizontalFlip', p=0.0)],
                                         [dict(type='Affine', p=0.0),
                                          dict(type='RandomBrightnessContrast', p=0.0)]]),
       st.integers(0, 2**31 - 1))
def test_identity_pipeline_changes_nothing(image_boxes, transforms, seed):
    img, boxes = image_boxes
    np.random.seed(seed)
    results = with_ignore(img, boxes, boxes[:1] + [1, 1, 0, 0])
    expected = {k: np.copy(v) for k, v in results.items() if isinstance(v, np.ndarray)}
    out = albu(transforms)(results)
    np.testing.assert_array_equal(out['img'], expected['img'])
    assert out['img'].dtype == np.uint8 and out['img_shape'] == img.shape
    # albumentations normalises boxes to [0, 1] and back: float rounding only
    np.testing.assert_allclose(out['gt_bboxes'], expected['gt_bboxes'], atol=1e-3)
    np.testing.assert_allclose(out['gt_bboxes_ignore'], expected['gt_bboxes_ignore'], atol=1e-3)
    np.testing.assert_array_equal(out['gt_labels'], expected['gt_labels'])
    np.testing.assert_array_equal(out['gt_labels_ignore'], expected['gt_labels_ignore'])
    assert out['gt_bboxes'].dtype == np.float32 and out['gt_labels'].dtype == np.int64


FLIP = st.one_of(
    st.builds(lambda p: dict(type='HorizontalFlip', p=p), st.sampled_from([0.5, 1.0])),
    st.builds(lambda p: dict(type='VerticalFlip', p=p), st.sampled_from([0.5, 1.0])),
    st.builds(lambda: dict(type='Transpose', p=1.0)),
)
#: images are at least 16 x 16, so one crop of at most 16 x 16 always fits
CROP = st.builds(lambda h, w: dict(type='RandomCrop', height=h, width=w, p=1.0),
                 st.integers(4, 16), st.integers(4, 16))


@st.composite
def flips_and_a_crop(draw) -> list[dict]:
    """0-2 flips and one crop, in any order."""
    steps = draw(st.lists(FLIP, max_size=2))
    steps.insert(draw(st.integers(0, len(steps))), draw(CROP))
    return steps


RESAMPLING = st.one_of(
    st.builds(lambda a, s: dict(type='Affine', rotate=(-a, a), scale=(1 - s, 1 + s),
                                translate_percent=(-0.2, 0.2), p=1.0),
              st.integers(0, 45), st.floats(0, 0.5)),
    st.builds(lambda s: dict(type='RandomScale', scale_limit=s, p=1.0), st.floats(0.1, 0.5)),
    st.builds(lambda h, w: dict(type='RandomSizedBBoxSafeCrop', height=h, width=w, p=1.0),
              st.integers(8, 40), st.integers(8, 40)),
    st.builds(lambda: dict(type='OneOf', transforms=[dict(type='HorizontalFlip'),
                                                     dict(type='Rotate', limit=30)], p=1.0)),
)


@st.composite
def geometric_pipeline(draw) -> list[dict]:
    """Maybe a crop first (it must fit the image), then 1-3 flips or resampling steps."""
    steps = draw(st.lists(st.one_of(FLIP, RESAMPLING), min_size=1, max_size=3))
    return [draw(CROP), *steps] if draw(st.booleans()) else steps


@settings(max_examples=80, deadline=None)
@given(painted_boxes(), flips_and_a_crop(), st.integers(0, 2**31 - 1))
def test_flips_and_crops_keep_each_box_on_its_pixels(image_boxes, transforms, seed):
    """Pixel-exact steps: each kept box is the extent of its own colour, and a box is
    dropped (with its label) exactly when none of its pixels is left."""
    img, boxes = image_boxes
    np.random.seed(seed)
    out = albu(transforms)(results_for(img, boxes))
    img, labels = out['img'], out['gt_labels']
    assert out['gt_bboxes'].shape == (len(labels), 4) and out['img_shape'] == img.shape
    for k in range(len(boxes)):
        ys, xs = np.nonzero(img[..., 0] == LABEL_VALUE * (k + 1))
        if k not in labels:
            assert len(xs) == 0, f'box {k} was dropped but its pixels are visible'
            continue
        extent = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        np.testing.assert_allclose(out['gt_bboxes'][list(labels).index(k)], extent, atol=1e-3)


@settings(max_examples=80, deadline=None)
@given(painted_boxes(), geometric_pipeline(), st.integers(0, 2**31 - 1))
def test_geometric_pipelines_keep_boxes_inside_and_labels_aligned(image_boxes, transforms, seed):
    img, boxes = image_boxes
    np.random.seed(seed)
    out = albu(transforms)(with_ignore(img, boxes, boxes[-1:]))
    img, boxes, labels = out['img'], out['gt_bboxes'], out['gt_labels']
    height, width = out['img_shape'][:2]
    assert img.shape == out['img_shape']
    for field, label_field in (('gt_bboxes', 'gt_labels'),
                               ('gt_bboxes_ignore', 'gt_labels_ignore')):
        b = out[field]
        assert b.dtype == np.float32 and b.shape == (len(out[label_field]), 4)
        assert (b[:, 0::2] >= 0).all() and (b[:, 0::2] <= width).all()
        assert (b[:, 1::2] >= 0).all() and (b[:, 1::2] <= height).all()
        assert (b[:, 2:] >= b[:, :2]).all()
        assert (np.diff(out[label_field]) > 0).all()  # a subsequence of the labels
    for box, label in zip(boxes, labels, strict=True):
        if (box[2:] - box[:2]).min() >= 6:  # large enough that the centre is its own colour
            cx, cy = int((box[0] + box[2]) / 2), int((box[1] + box[3]) / 2)
            if all(t['type'] in ('HorizontalFlip', 'VerticalFlip', 'Transpose', 'RandomCrop')
                   for t in transforms):
                assert img[cy, cx, 0] == LABEL_VALUE * (label + 1), (box, label)


def two_boxes() -> dict:
    """100x100, box 0 on the left, box 1 on the right; an ignore box on each side."""
    img = np.zeros((100, 100, 3), np.uint8)
    boxes = np.array([[10, 10, 30, 40], [60, 20, 90, 80]], np.float32)
    return with_ignore(img, boxes, [[5, 50, 25, 70], [70, 5, 95, 15]])


def test_boxes_dropped_by_a_crop_lose_their_labels():
    out = albu([dict(type='Crop', x_min=0, y_min=0, x_max=50, y_max=100)])(two_boxes())
    assert out['img'].shape == out['img_shape'] == (100, 50, 3)
    np.testing.assert_allclose(out['gt_bboxes'], [[10, 10, 30, 40]], atol=1e-3)
    np.testing.assert_array_equal(out['gt_labels'], [0])
    np.testing.assert_allclose(out['gt_bboxes_ignore'], [[5, 50, 25, 70]], atol=1e-3)
    np.testing.assert_array_equal(out['gt_labels_ignore'], [10])


def test_min_visibility_and_skip_img_without_anno():
    crop = [dict(type='Crop', x_min=0, y_min=0, x_max=70, y_max=100)]  # box 1: 10 of 30 px
    params = dict(BBOX_PARAMS, min_visibility=0.5)
    out = albu(crop, bbox_params=params)(two_boxes())
    np.testing.assert_array_equal(out['gt_labels'], [0])
    kept = albu(crop)(two_boxes())
    np.testing.assert_allclose(kept['gt_bboxes'][1], [60, 20, 70, 80], atol=1e-3)
    empty = [dict(type='Crop', x_min=35, y_min=0, x_max=55, y_max=100)]
    assert albu(empty, skip_img_without_anno=True)(two_boxes()) is None
    assert len(albu(empty)(two_boxes())['gt_bboxes']) == 0


def test_degenerate_and_outside_boxes_are_dropped_with_their_labels():
    results = results_for(np.zeros((20, 20, 3), np.uint8),
                          np.array([[1, 1, 5, 5], [6, 6, 6, 9], [30, 1, 40, 5]], np.float32))
    out = albu([dict(type='HorizontalFlip', p=1.0)])(results)
    np.testing.assert_allclose(out['gt_bboxes'], [[15, 1, 19, 5]], atol=1e-3)
    np.testing.assert_array_equal(out['gt_labels'], [0])


def test_keymap_and_update_pad_shape():
    results = two_boxes()
    results['pad_shape'] = (100, 100, 3)
    out = albu([dict(type='Resize', height=50, width=40)], update_pad_shape=True,
               keymap=dict(img='image', gt_bboxes='bboxes'))(results)
    assert out['img'].shape == out['img_shape'] == out['pad_shape'] == (50, 40, 3)
    np.testing.assert_allclose(out['gt_bboxes'], [[4, 5, 12, 20], [24, 10, 36, 40]], atol=1e-3)


def test_colour_transforms_see_rgb():
    """The image is BGR: a red shift lands in channel 2 (as RGB it would be channel 0)."""
    img = np.full((8, 8, 3), 100, np.uint8)
    shift = [dict(type='RGBShift', r_shift_limit=(50, 50), g_shift_limit=(0, 0),
                  b_shift_limit=(0, 0), p=1.0)]
    out = albu(shift, bbox_params=None)(results_for(img, np.zeros((0, 4))))
    assert out['img'][0, 0].tolist() == [100, 100, 150]
    raw = albu(shift, bbox_params=None, bgr_to_rgb=False)(results_for(img, np.zeros((0, 4))))
    assert raw['img'][0, 0].tolist() == [150, 100, 100]


def test_draws_follow_numpy_seed():
    flips = []
    for seed in range(12):
        np.random.seed(seed)
        first = albu([dict(type='HorizontalFlip', p=0.5)])(two_boxes())['gt_bboxes'][0, 0]
        np.random.seed(seed)
        again = albu([dict(type='HorizontalFlip', p=0.5)])(two_boxes())['gt_bboxes'][0, 0]
        assert first == again
        flips.append(first > 50)
    assert 0 < sum(flips) < 12  # both outcomes happen


def test_bad_configs_are_named():
    with pytest.raises(ValueError, match="no transform 'HorizontalFlp'; did you mean "
                                         "'HorizontalFlip'"):
        albu([dict(type='HorizontalFlp')])
    with pytest.raises(ValueError, match="format must be 'pascal_voc'.*'coco'"):
        albu([dict(type='NoOp')], bbox_params=dict(BBOX_PARAMS, format='coco'))
    with pytest.raises(ValueError, match='bbox_params is not set'):
        albu([dict(type='HorizontalFlip', p=1.0)], bbox_params=None)(two_boxes())


def test_missing_package_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, 'albumentations', None)  # as if not installed
    with pytest.raises(ImportError, match='pip install albumentations'):
        albu([dict(type='NoOp')])


def test_in_a_dataset_pipeline(coco_root: Path):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='Albu', transforms=[dict(type='HorizontalFlip', p=1.0)],
                     bbox_params=BBOX_PARAMS, skip_img_without_anno=True),
                dict(type='DefaultFormatBundle'),
                dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'],
                     meta_keys=('img_shape',))]
    dataset = DATASETS.build(dict(type='CocoDataset', data_root=str(coco_root),
                                  ann_file='ann.json', img_prefix='imgs/',
                                  classes=('cat', 'dog', 'bird'), pipeline=pipeline))
    plain = DATASETS.build(dict(type='CocoDataset', data_root=str(coco_root),
                                ann_file='ann.json', img_prefix='imgs/',
                                classes=('cat', 'dog', 'bird'), pipeline=pipeline[:2]))
    sample, reference = dataset[0], plain[0]
    width = reference['img'].shape[1]
    flipped = reference['gt_bboxes'][:, [2, 1, 0, 3]] * [-1, 1, -1, 1] + [width, 0, width, 0]
    np.testing.assert_allclose(sample['gt_bboxes'].numpy(), flipped, atol=1e-3)
    np.testing.assert_array_equal(sample['gt_labels'].numpy(), reference['gt_labels'])
