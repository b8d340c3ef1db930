"""CocoDataset / CustomDataset: paths, classes, labels, filtering, metainfo, retries."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmssd.datasets import CocoDataset, CustomDataset
from mmssd.registry import DATASETS, TRANSFORMS

LOAD = [{'type': 'LoadImageFromFile'}, {'type': 'LoadAnnotations'}]


def build(root: Path, **kwargs) -> CocoDataset:
    cfg = {'type': 'CocoDataset', 'data_root': str(root), 'ann_file': 'ann.json',
           'img_prefix': 'imgs/', 'classes': ('cat', 'dog', 'bird'), 'pipeline': LOAD}
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_paths_joined_to_data_root(coco_root: Path):
    ds = build(coco_root)
    assert ds.ann_file == str(coco_root / 'ann.json')
    assert ds.img_prefix == str(coco_root) + '/imgs/'
    results = ds[0]
    assert results['filename'] == str(coco_root / 'imgs' / 'a.jpg')
    assert results['img'].shape == (48, 64, 3) and results['img_id'] == 1


def test_missing_ann_file_names_path_and_key(coco_root: Path):
    with pytest.raises(FileNotFoundError, match=r'nope\.json.*ann_file'):
        build(coco_root, ann_file='nope.json')


def test_labels_follow_classes_order(coco_root: Path):
    ds = build(coco_root, classes=('bird', 'cat'))
    assert ds.cat_ids == [9, 3]
    assert ds.metainfo == {'classes': ('bird', 'cat'), 'cat_ids': [9, 3],
                           'ann_file': str(coco_root / 'ann.json')}
    # train mode: image 1 has a cat, 2 bird+cat, 4 a bird; 3 (empty) and 5 (tiny) go
    assert [info['id'] for info in ds.data_infos] == [1, 2, 4]
    ann = ds.get_ann_info(1)  # image 2
    np.testing.assert_array_equal(ann['labels'], [0, 1])
    np.testing.assert_allclose(ann['bboxes'], [[1, 1, 11, 11], [10, 30, 30, 50]])
    np.testing.assert_allclose(ann['bboxes_ignore'], [[0, 0, 40, 60]])
    assert ann['bboxes'].dtype == np.float32 and ann['labels'].dtype == np.int64


def test_degenerate_boxes_skipped_and_other_classes_ignored(coco_root: Path):
    ds = build(coco_root)
    ann = ds.get_ann_info(0)  # image 1: cat, dog, and a dog with w=0.5 (skipped)
    np.testing.assert_array_equal(ann['labels'], [0, 1])
    ann = build(coco_root, classes=('cat',)).get_ann_info(1)  # image 2 without the bird
    np.testing.assert_array_equal(ann['labels'], [0])


def test_unknown_class_lists_available(coco_root: Path):
    with pytest.raises(KeyError, match=r"\['horse'\].*available: \['cat', 'dog', 'bird'\]"):
        build(coco_root, classes=('cat', 'horse'))


def test_classes_from_file(coco_root: Path, tmp_path: Path):
    names = tmp_path / 'names.txt'
    names.write_text('dog\nbird\n')
    assert build(coco_root, classes=str(names)).CLASSES == ('dog', 'bird')
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        build(coco_root, classes=str(tmp_path / 'missing.txt'))


def test_test_mode_keeps_all_and_carries_gt_for_metrics(coco_root: Path):
    ds = build(coco_root, test_mode=True, pipeline=[
        {'type': 'LoadImageFromFile'}, {'type': 'Collect', 'keys': ['img'], 'meta_keys': []}])
    assert len(ds) == 5
    meta = ds[2]['img_metas']
    assert meta['img_id'] == 3
    np.testing.assert_array_equal(meta['ann_info']['bboxes'], ds.get_ann_info(2)['bboxes'])


def test_filter_empty_gt_off_keeps_empty_images(coco_root: Path):
    ds = build(coco_root, filter_empty_gt=False)
    assert [info['id'] for info in ds.data_infos] == [1, 2, 3, 4]  # tiny image 5 still goes
    assert ds.flag.tolist() == [1, 0, 0, 1]


@TRANSFORMS.register_module(force=True)
class _DropOddImages:
    def __call__(self, results):
        return None if results['img_id'] % 2 else results


def test_train_getitem_retries_when_pipeline_drops(coco_root: Path):
    ds = build(coco_root, classes=('cat', 'dog', 'bird'),
               pipeline=[{'type': '_DropOddImages'}])
    np.random.seed(0)
    for i in range(len(ds)):
        assert ds[i]['img_id'] % 2 == 0


def test_custom_dataset_middle_format(tmp_path: Path, coco_root: Path):
    import mmengine
    infos = [{'filename': 'a.jpg', 'width': 64, 'height': 48,
                  'ann': {'bboxes': [[1, 2, 10, 12]], 'labels': [1]}},
             {'filename': 'b.jpg', 'width': 40, 'height': 60,
                  'ann': {'bboxes': np.zeros((0, 4)), 'labels': []}}]
    mmengine.dump(infos, str(tmp_path / 'ann.pkl'))
    ds = CustomDataset(ann_file='ann.pkl', data_root=str(tmp_path), classes=('x', 'y'),
                       img_prefix=str(coco_root / 'imgs'), pipeline=LOAD)
    assert len(ds) == 1  # the image without boxes is filtered in train mode
    results = ds[0]
    np.testing.assert_allclose(results['gt_bboxes'], [[1, 2, 10, 12]])
    assert results['gt_labels'].tolist() == [1]
    assert ds.metainfo['cat_ids'] == [0, 1]
