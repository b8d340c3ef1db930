"""VOCDataset: XML parsing, mmdet 2.x coordinates, difficult/min_size, warnings, year."""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from mmssd.datasets import AnnotationWarning, VOCDataset
from mmssd.datasets.voc import VOC_CLASSES, infer_voc_year
from mmssd.registry import DATASETS
from tests.helpers.voc_files import voc_object, write_split, write_voc_image

LOAD = [{'type': 'LoadImageFromFile'}, {'type': 'LoadAnnotations'}]
CLASSES = ('cat', 'dog', 'bird')


def build(root: Path, **kwargs) -> VOCDataset:
    cfg = {'type': 'VOCDataset', 'data_root': str(root),
           'ann_file': 'VOC2007/ImageSets/Main/trainval.txt', 'img_prefix': 'VOC2007/',
           'classes': CLASSES, 'pipeline': LOAD}
    cfg.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', AnnotationWarning)
        return DATASETS.build(cfg)


def test_default_classes_are_the_20_voc_classes():
    assert VOCDataset.CLASSES == VOC_CLASSES and len(VOC_CLASSES) == 20
    assert VOC_CLASSES[0] == 'aeroplane' and VOC_CLASSES[-1] == 'tvmonitor'


def test_infos_and_mmdet_legacy_coordinates(voc_root: Path):
    ds = build(voc_root, test_mode=True)
    assert [info['id'] for info in ds.data_infos] == ['000001', '000002', '000003', '000004',
                                                       '005000']
    info = ds.data_infos[0]
    assert (info['filename'], info['width'], info['height']) == ('JPEGImages/000001.jpg', 64, 48)
    ann = ds.get_ann_info(0)  # dog (11, 6, 31, 26); difficult cat (2, 3, 20, 40); 2 horses
    np.testing.assert_array_equal(ann['bboxes'], [[10, 5, 30, 25]])
    np.testing.assert_array_equal(ann['labels'], [1])
    np.testing.assert_array_equal(ann['bboxes_ignore'], [[1, 2, 19, 39]])
    np.testing.assert_array_equal(ann['labels_ignore'], [0])
    assert ann['bboxes'].dtype == np.float32 and ann['labels'].dtype == np.int64
    ann = ds.get_ann_info(1)  # float xmin 10.7 is truncated as mmdet's int(float(.)) does
    np.testing.assert_array_equal(ann['bboxes'], [[4, 4, 7, 29], [9, 19, 38, 54]])
    np.testing.assert_array_equal(ann['labels'], [2, 0])


def test_get_ann_info_returns_copies(voc_root: Path):
    ds = build(voc_root, test_mode=True)
    ds.get_ann_info(0)['bboxes'][:] = -7
    assert ds.get_ann_info(0)['bboxes'][0, 0] == 10


def test_size_read_from_image_header_when_xml_has_none(voc_root: Path):
    info = build(voc_root, test_mode=True).data_infos[1]  # 000002.xml has no <size>
    assert (info['width'], info['height']) == (40, 60)


def test_missing_size_and_missing_image_names_both_files(tmp_path: Path):
    year = tmp_path / 'VOC2007'
    write_voc_image(year, '000007', [voc_object('cat', (1, 1, 9, 9))], (20, 20),
                    with_size=False, with_image=False)
    write_split(year, 'trainval', ['000007'])
    with pytest.raises(FileNotFoundError, match=r'Annotations/000007\.xml has no <size>.*'
                                                r'JPEGImages/000007\.jpg does not exist'):
        build(tmp_path)


def test_train_mode_filters_images_without_boxes_test_mode_keeps_all(voc_root: Path):
    train = build(voc_root)
    # 000003 has no object and 005000 only unknown classes; the difficult-only 000004 stays
    assert [info['id'] for info in train.data_infos] == ['000001', '000002', '000004']
    assert len(build(voc_root, test_mode=True)) == 5
    assert len(build(voc_root, filter_empty_gt=False)) == 5


def test_unknown_classes_one_warning_counting_them_by_name(voc_root: Path):
    cfg = {'type': 'VOCDataset', 'data_root': str(voc_root), 'classes': CLASSES,
           'ann_file': 'VOC2007/ImageSets/Main/trainval.txt', 'img_prefix': 'VOC2007/',
           'pipeline': []}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        DATASETS.build(cfg)
    messages = [str(w.message) for w in caught if w.category is AnnotationWarning]
    assert len(messages) == 1, messages
    assert "skipped 4 objects whose class is not in `classes`: {'horse': 3, 'person': 1}" \
        in messages[0]
    assert 'VOC2007/Annotations/000001.xml' in messages[0]


def test_class_without_objects_is_named(voc_root: Path):
    with pytest.warns(AnnotationWarning, match=r"classes \['cow'\] of `classes` have no object"):
        DATASETS.build({'type': 'VOCDataset', 'data_root': str(voc_root),
                        'ann_file': 'VOC2007/ImageSets/Main/trainval.txt',
                        'img_prefix': 'VOC2007/', 'pipeline': [],
                        'classes': ('cat', 'dog', 'bird', 'horse', 'person', 'cow')})


def test_min_size_turns_small_objects_into_ignored_boxes(voc_root: Path):
    ann = build(voc_root, min_size=5).get_ann_info(1)  # 000002: the bird is 3 px wide
    np.testing.assert_array_equal(ann['bboxes'], [[9, 19, 38, 54]])
    np.testing.assert_array_equal(ann['bboxes_ignore'], [[4, 4, 7, 29]])
    np.testing.assert_array_equal(ann['labels_ignore'], [2])
    with pytest.raises(ValueError, match='`min_size`=5.*test_mode'):
        build(voc_root, min_size=5, test_mode=True)


@pytest.mark.parametrize('prefix, year', [
    ('data/VOCdevkit/VOC2007/', 2007), ('data/VOCdevkit/VOC2012', 2012),
    ('/x/VOC2012/VOC2007/', 2007), ('data/VOC2007_test/', 2007), ('data/coco/', None),
    ('', None), (None, None)])
def test_year_inference(prefix, year):
    assert infer_voc_year(prefix) == year


def test_year_and_metainfo(voc_root: Path):
    ds = build(voc_root)
    assert ds.year == 2007
    assert ds.metainfo == {'classes': CLASSES, 'cat_ids': [0, 1, 2], 'year': 2007,
                           'ann_file': str(voc_root / 'VOC2007/ImageSets/Main/trainval.txt')}
    copy_dir = voc_root.parent / 'devkit_copy' / 'VOC2012'
    shutil.copytree(voc_root / 'VOC2007', copy_dir, dirs_exist_ok=True)
    assert build(copy_dir.parent, ann_file='VOC2012/ImageSets/Main/trainval.txt',
                 img_prefix='VOC2012/').metainfo['year'] == 2012


def test_item_loads_image_boxes_and_int_img_id(voc_root: Path):
    ds = build(voc_root, test_mode=True)
    results = ds[4]
    assert results['img'].shape == (36, 70, 3)
    assert results['img_id'] == 5000
    assert results['filename'] == str(voc_root / 'VOC2007' / 'JPEGImages' / '005000.jpg')
    results = ds[0]
    np.testing.assert_array_equal(results['gt_bboxes'], [[10, 5, 30, 25]])
    np.testing.assert_array_equal(results['gt_bboxes_ignore'], [[1, 2, 19, 39]])


def test_non_numeric_ids_fall_back_to_the_index(tmp_path: Path):
    year = tmp_path / 'VOC2007'
    write_voc_image(year, 'img_a', [voc_object('cat', (1, 1, 9, 9))], (40, 40))
    write_voc_image(year, '2008_000008', [voc_object('cat', (1, 1, 9, 9))], (40, 40))
    write_split(year, 'trainval', ['img_a', '2008_000008'])
    ds = build(tmp_path, test_mode=True)
    assert [ds._img_id(i) for i in range(2)] == [0, 2008000008]
