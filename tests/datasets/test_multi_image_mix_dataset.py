"""MultiImageMixDataset: the mixing pipeline on loaded samples, switched off in workers."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from mmssd.datasets import MultiImageMixDataset, build_dataset, detection_collate
from mmssd.datasets.pipelines import FilterAnnotations, Pad, YOLOXHSVRandomAug

LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)]
MIX = [dict(type='Mosaic', img_scale=(32, 32), pad_val=114.0),
       dict(type='RandomAffine', scaling_ratio_range=(0.5, 1.5), border=(-16, -16)),
       dict(type='MixUp', img_scale=(32, 32), ratio_range=(0.8, 1.6), pad_val=114.0),
       dict(type='YOLOXHSVRandomAug'),
       dict(type='RandomFlip', flip_ratio=0.5),
       dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
       dict(type='Resize', img_scale=(32, 32), keep_ratio=True),
       dict(type='Pad', pad_to_square=True, pad_val=dict(img=(114.0, 114.0, 114.0))),
       dict(type='DefaultFormatBundle'),
       dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]


def _mix(coco_root: Path, pipeline=MIX, inner=LOAD, **kwargs) -> MultiImageMixDataset:
    inner_cfg = dict(type='CocoDataset', data_root=str(coco_root), ann_file='ann.json',
                     img_prefix='imgs/', classes=('cat', 'dog', 'bird'), pipeline=inner)
    return build_dataset(dict(type='MultiImageMixDataset', dataset=inner_cfg,
                              pipeline=pipeline, **kwargs))


def test_mixed_samples_are_seeded_and_consistent(coco_root):
    dataset = _mix(coco_root)
    assert len(dataset) == len(dataset.dataset) and dataset.metainfo['classes'][0] == 'cat'
    np.random.seed(1)
    first = [dataset[i] for i in range(3)]
    np.random.seed(1)
    again = [dataset[i] for i in range(3)]
    for a, b in zip(first, again, strict=True):
        assert a['img'].shape == (3, 32, 32)
        torch.testing.assert_close(a['img'], b['img'])
        torch.testing.assert_close(a['gt_bboxes'], b['gt_bboxes'])
        assert len(a['gt_bboxes']) == len(a['gt_labels'])
        assert (a['gt_bboxes'][:, 2:] > a['gt_bboxes'][:, :2]).all()


def test_skip_type_keys_reach_persistent_workers(coco_root):
    # no resize: a mosaic is 32x32, a sample without it its own size
    pipeline = [*MIX[:3], MIX[4], MIX[-2], MIX[-1]]
    dataset = _mix(coco_root, pipeline=pipeline)
    loader = DataLoader(dataset, batch_size=1, num_workers=1, persistent_workers=True,
                        collate_fn=detection_collate, sampler=[0, 0, 0])
    before = [tuple(b['img'].shape[-2:]) for b in loader]
    dataset.update_skip_type_keys(('Mosaic', 'RandomAffine', 'MixUp'))
    after = [tuple(b['img'].shape[-2:]) for b in loader]  # the same worker process
    assert before == [(32, 32)] * 3
    assert after == [tuple(dataset.dataset.data_infos[0][k] for k in ('height', 'width'))] * 3
    assert dataset.skip_type_keys == ('Mosaic', 'RandomAffine', 'MixUp')


def test_bad_input_names_the_key(coco_root):
    with pytest.raises(ValueError, match=r'`pipeline\[0\]` is LoadImageFromFile'):
        _mix(coco_root, pipeline=[LOAD[0], *MIX])
    with pytest.raises(ValueError, match=r'`dataset.pipeline`.*loads no image'):
        _mix(coco_root, inner=LOAD[1:])
    with pytest.raises(ValueError, match='img_scale'):
        _mix(coco_root, pipeline=[dict(type='Mosaic', img_scale=640)])
    with pytest.raises(ValueError, match="skip_type_keys.*'Mosiac'.*Did you mean 'Mosaic'"):
        _mix(coco_root, skip_type_keys=['Mosiac'])


def test_hsv_lookup_equals_mmdetections_int16_arithmetic():
    img = np.random.default_rng(0).integers(0, 256, (8, 9, 3), dtype=np.uint8)
    np.random.seed(5)
    out = YOLOXHSVRandomAug(hue_delta=50)({'img': img.copy()})['img']
    np.random.seed(5)
    gains = np.random.uniform(-1, 1, 3) * [50, 30, 30]
    gains = (gains * np.random.randint(0, 2, 3)).astype(np.int16)
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + gains[0]) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] + gains[1], 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] + gains[2], 0, 255)
    np.testing.assert_array_equal(out, cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR))


def test_filter_annotations_and_square_pad():
    results = {'gt_bboxes': np.array([[0, 0, 5, 5], [0, 0, 1, 9], [2, 2, 4, 4]], np.float32),
               'gt_labels': np.array([0, 1, 2])}
    out = FilterAnnotations(min_gt_bbox_wh=(1, 1))(dict(results))
    np.testing.assert_array_equal(out['gt_labels'], [0, 2])
    tiny = {'gt_bboxes': results['gt_bboxes'][1:2], 'gt_labels': np.array([1])}
    assert FilterAnnotations(keep_empty=True)(dict(tiny)) is None
    assert FilterAnnotations(keep_empty=False)(dict(tiny))['gt_labels'].tolist() == [1]
    img = np.zeros((4, 7, 3), np.uint8)
    padded = Pad(pad_to_square=True, pad_val=dict(img=(114, 114, 114)))({'img': img})
    assert padded['pad_shape'] == (7, 7, 3) and (padded['img'][4:] == 114).all()
