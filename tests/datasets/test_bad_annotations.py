"""Bad inputs: box sanity for every dataset type, malformed files, missing folders."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import mmengine
import numpy as np
import pytest

from mmssd.datasets import AnnotationWarning
from mmssd.datasets.box_sanity import (
    CLIPPED,
    INVERTED,
    NON_FINITE,
    OUTSIDE,
    ZERO_AREA,
    sanitize_ann,
)
from mmssd.datasets.issue_log import IssueLog
from mmssd.registry import DATASETS
from tests.helpers.voc_files import voc_object, write_split, write_voc_image


def build_quietly(cfg: dict):
    """The dataset and the messages of the AnnotationWarnings it emitted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        dataset = DATASETS.build(cfg)
    return dataset, [str(w.message) for w in caught if w.category is AnnotationWarning]


# --------------------------------------------------------------------------- box sanity
def test_sanitize_ann_counts_each_kind_and_keeps_labels_aligned():
    log = IssueLog()
    ann = {'bboxes': [[0, 0, 10, 10], [np.nan, 0, 5, 5], [5, 5, 2, 9], [3, 3, 3, 9],
                      [-5, 2, 8, 30], [40, 0, 50, 5]],
           'labels': [0, 1, 2, 3, 4, 5],
           'bboxes_ignore': [[0, 0, np.inf, 4]], 'labels_ignore': [6], 'extra': 'kept'}
    out = sanitize_ann(ann, width=32, height=24, where='img.xml', log=log)
    np.testing.assert_array_equal(out['bboxes'], [[0, 0, 10, 10], [0, 2, 8, 24]])
    np.testing.assert_array_equal(out['labels'], [0, 4])
    assert out['bboxes_ignore'].shape == (0, 4) and out['labels_ignore'].shape == (0,)
    assert out['extra'] == 'kept' and out['bboxes'].dtype == np.float32
    assert log.as_dict() == {NON_FINITE: 2, INVERTED: 1, ZERO_AREA: 1, OUTSIDE: 1, CLIPPED: 1}
    assert set(log.first.values()) == {'img.xml'}


def test_sanitize_ann_rejects_label_count_mismatch():
    with pytest.raises(ValueError, match=r'a\.jpg: `bboxes` has 2 boxes but `labels` has 1'):
        sanitize_ann({'bboxes': [[0, 0, 1, 1]] * 2, 'labels': [0]}, 10, 10, 'a.jpg', IssueLog())


def test_custom_dataset_one_warning_naming_first_file(tmp_path: Path, coco_root: Path):
    infos = [{'filename': 'a.jpg', 'width': 64, 'height': 48,
              'ann': {'bboxes': [[1, 2, 10, 12], [5, 5, 5, 9]], 'labels': [0, 1]}},
             {'filename': 'b.jpg', 'width': 40, 'height': 60,
              'ann': {'bboxes': [[30, 50, 45, 70], [np.inf, 0, 1, 1]], 'labels': [1, 0]}}]
    mmengine.dump(infos, str(tmp_path / 'ann.pkl'))
    ds, messages = build_quietly(dict(type='CustomDataset', ann_file=str(tmp_path / 'ann.pkl'),
                                      classes=('x', 'y'), img_prefix=str(coco_root / 'imgs'),
                                      pipeline=[]))
    assert len(messages) == 1
    assert '3 boxes were dropped or clipped' in messages[0]
    assert f"1 {ZERO_AREA} (first in {tmp_path / 'ann.pkl'} entry 0 ('a.jpg'))" in messages[0]
    assert "1 clipped to the image (partly outside) (first in" in messages[0]
    assert "entry 1 ('b.jpg')" in messages[0]
    np.testing.assert_array_equal(ds.get_ann_info(1)['bboxes'], [[30, 50, 40, 60]])


def coco_json(path: Path, anns: list[tuple]) -> Path:
    """Two 50x40 images with ``(image_id, bbox xywh, iscrowd)`` annotations of one class."""
    images = [{'id': i, 'file_name': 'a.jpg', 'width': 50, 'height': 40} for i in (1, 2)]
    annotations = [{'id': k + 1, 'image_id': im, 'category_id': 1, 'bbox': box,
                    'area': abs(box[2] * box[3]), 'iscrowd': crowd}
                   for k, (im, box, crowd) in enumerate(anns)]
    path.write_text(json.dumps({'images': images, 'annotations': annotations,
                                'categories': [{'id': 1, 'name': 'thing'}]}))
    return path


def test_coco_boxes_dropped_and_clipped_with_one_warning(tmp_path: Path, coco_root: Path):
    ann_file = coco_json(tmp_path / 'c.json', [
        (1, [5, 5, 10, 10], 0), (1, [45, 30, 20, 20], 0), (1, [60, 5, 5, 5], 0),
        (2, [5, 5, -3, 4], 0), (2, [5, 5, 0.5, 4], 0), (2, [-10, -10, 20, 15], 1)])
    ds, messages = build_quietly(dict(type='CocoDataset', ann_file=str(ann_file),
                                      classes=('thing',), test_mode=True,
                                      img_prefix=str(coco_root / 'imgs'), pipeline=[]))
    assert len(messages) == 1
    assert f"1 {OUTSIDE} (first in image id 1 ('a.jpg')" in messages[0]
    assert f"1 {INVERTED} (first in image id 2" in messages[0]
    assert '1 dropped: width or height below 1.0 px (first in image id 2' in messages[0]
    assert f"2 {CLIPPED} (first in image id 1" in messages[0]
    np.testing.assert_array_equal(ds.get_ann_info(0)['bboxes'], [[5, 5, 15, 15], [45, 30, 50, 40]])
    np.testing.assert_array_equal(ds.get_ann_info(1)['bboxes_ignore'], [[0, 0, 10, 5]])
    np.testing.assert_array_equal(ds.get_ann_info(1)['labels_ignore'], [0])


def test_clean_annotations_emit_no_warning(coco_root: Path):
    _, messages = build_quietly(dict(type='CocoDataset', data_root=str(coco_root),
                                     ann_file='ann.json', img_prefix='imgs/', pipeline=[],
                                     classes=('cat', 'bird')))
    assert messages == []


def test_voc_boxes_go_through_the_same_sanity(tmp_path: Path):
    year = tmp_path / 'VOC2007'
    write_voc_image(year, '000001', [voc_object('cat', (5, 5, 90, 20)),
                                     voc_object('cat', (30, 5, 10, 20)),
                                     voc_object('cat', (3, 3, 'nan', 9))], (40, 30))
    write_split(year, 'test', ['000001'])
    ds, messages = build_quietly(dict(type='VOCDataset', data_root=str(tmp_path),
                                      ann_file='VOC2007/ImageSets/Main/test.txt',
                                      img_prefix='VOC2007/', classes=('cat',), pipeline=[],
                                      test_mode=True))
    assert len(messages) == 1
    xml = str(year / 'Annotations' / '000001.xml')
    for reason in (NON_FINITE, INVERTED, CLIPPED):
        assert f'1 {reason} (first in {xml})' in messages[0]
    np.testing.assert_array_equal(ds.get_ann_info(0)['bboxes'], [[4, 4, 40, 19]])


def test_empty_coco_images_filtered_in_training_kept_in_test(coco_root: Path):
    cfg = dict(type='CocoDataset', data_root=str(coco_root), ann_file='ann.json',
               img_prefix='imgs/', pipeline=[], classes=('cat', 'dog', 'bird'))
    assert 3 not in [info['id'] for info in build_quietly(cfg)[0].data_infos]
    test_set, _ = build_quietly(dict(cfg, test_mode=True))
    assert [info['id'] for info in test_set.data_infos] == [1, 2, 3, 4, 5]


# --------------------------------------------------------------------------- bad files
@pytest.mark.parametrize('dataset_type', ['CocoDataset', 'CustomDataset'])
def test_malformed_json_names_file_and_position(tmp_path: Path, dataset_type: str):
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": [\n  {"id": 1,, "file_name": "a.jpg"}]}')
    with pytest.raises(ValueError, match=r'malformed JSON in annotation file .*bad\.json: '
                                         r'Expecting .* at line 2 column 12'):
        DATASETS.build(dict(type=dataset_type, ann_file=str(bad), classes=('x',), pipeline=[]))


def test_coco_json_without_images_key_is_named(tmp_path: Path):
    bad = tmp_path / 'ann.json'
    bad.write_text(json.dumps({'annotations': [], 'categories': []}))
    with pytest.raises(ValueError, match=r'ann\.json: top-level key `images` is missing'):
        DATASETS.build(dict(type='CocoDataset', ann_file=str(bad), classes=('x',), pipeline=[]))


def test_custom_entry_without_size_is_named(tmp_path: Path):
    mmengine.dump([{'filename': 'a.jpg', 'width': 3}], str(tmp_path / 'a.json'))
    with pytest.raises(ValueError, match=r"a\.json, entry 0: missing \['height'\]"):
        DATASETS.build(dict(type='CustomDataset', ann_file=str(tmp_path / 'a.json'),
                            classes=('x',), pipeline=[]))


def test_malformed_xml_names_file_and_parser_message(tmp_path: Path):
    year = tmp_path / 'VOC2007'
    write_voc_image(year, '000001', [], (40, 40))
    (year / 'Annotations' / '000001.xml').write_text('<annotation><object></annotation>')
    write_split(year, 'trainval', ['000001'])
    with pytest.raises(ValueError, match=r'malformed XML in VOC annotation file .*'
                                         r'Annotations/000001\.xml: mismatched tag: line 1'):
        DATASETS.build(dict(type='VOCDataset', data_root=str(tmp_path), pipeline=[],
                            ann_file='VOC2007/ImageSets/Main/trainval.txt',
                            img_prefix='VOC2007/'))


@pytest.mark.parametrize('obj, message', [
    ('<object><name>cat</name></object>', r"<object> #0 \('cat'\) has no <bndbox>"),
    ('<object><bndbox/></object>', '<object> #0 has no <name>'),
    ('<object><name>cat</name><bndbox><xmin>a</xmin></bndbox></object>',
     r"<object> #0 \('cat'\): <bndbox><xmin> is 'a'; expected a number"),
])
def test_incomplete_xml_object_is_named(tmp_path: Path, obj: str, message: str):
    year = tmp_path / 'VOC2007'
    write_voc_image(year, '000001', [obj], (40, 40))
    write_split(year, 'trainval', ['000001'])
    with pytest.raises(ValueError, match=r'Annotations/000001\.xml: ' + message):
        DATASETS.build(dict(type='VOCDataset', data_root=str(tmp_path), pipeline=[],
                            ann_file='VOC2007/ImageSets/Main/trainval.txt',
                            img_prefix='VOC2007/'))


def test_missing_xml_and_bad_image_list_are_named(tmp_path: Path):
    year = tmp_path / 'VOC2007'
    write_voc_image(year, '000001', [], (40, 40))
    cfg = dict(type='VOCDataset', data_root=str(tmp_path), pipeline=[],
               ann_file='VOC2007/ImageSets/Main/trainval.txt', img_prefix='VOC2007/')
    write_split(year, 'trainval', ['000001', '000002'])
    with pytest.raises(FileNotFoundError, match=r'not found: .*Annotations/000002\.xml'):
        DATASETS.build(cfg)
    (year / 'ImageSets/Main/trainval.txt').write_text('000001 -1\n')
    with pytest.raises(ValueError, match=r'trainval\.txt line 1: expected one image id'):
        DATASETS.build(cfg)
    (year / 'ImageSets/Main/trainval.txt').write_text('\n')
    with pytest.raises(ValueError, match=r'trainval\.txt \(config key `ann_file`\) names no'):
        DATASETS.build(cfg)


# --------------------------------------------------------------------------- paths
def test_missing_img_prefix_names_key_and_path(coco_root: Path):
    with pytest.raises(FileNotFoundError, match=r"image folder not found: .*/nope/ \(config "
                                                r"key `img_prefix`='nope/'"):
        DATASETS.build(dict(type='CocoDataset', data_root=str(coco_root), ann_file='ann.json',
                            img_prefix='nope/', classes=('cat',), pipeline=[]))


@pytest.mark.parametrize('prefix, client', [('', None), ('s3://bucket/imgs/', None),
                                            ('nope/', dict(backend='petrel'))])
def test_img_prefix_not_checked_when_empty_or_remote(coco_root: Path, prefix, client):
    ds = DATASETS.build(dict(type='CocoDataset', ann_file=str(coco_root / 'ann.json'),
                             img_prefix=prefix, classes=('cat',), pipeline=[],
                             file_client_args=client))
    assert len(ds) > 0


def test_list_ann_file_given_to_a_dataset_points_to_build_dataset(coco_root: Path):
    with pytest.raises(TypeError, match='`ann_file` is a list.*build_dataset'):
        DATASETS.build(dict(type='CocoDataset', ann_file=['a.json', 'b.json'], pipeline=[]))
