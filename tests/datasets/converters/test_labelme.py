"""LabelMe -> COCO (mmssd.datasets.converters.labelme and tools/dataset_converters/
labelme2coco.py): boxes of rectangles, polygons and circles computed by hand, read back by
CocoDataset."""
from __future__ import annotations

import json
import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmssd.datasets import CocoDataset
from mmssd.datasets.converters import labelme_to_coco

REPO = Path(__file__).resolve().parents[3]


def write_labelme(folder: Path, name: str, shapes: list[dict], size=(80, 60)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / f'{name}.png'), np.zeros((size[1], size[0], 3), np.uint8))
    record = {'version': '5.2.1', 'flags': {}, 'shapes': shapes, 'imagePath': f'{name}.png',
              'imageData': None, 'imageWidth': size[0], 'imageHeight': size[1]}
    (folder / f'{name}.json').write_text(json.dumps(record))


def shape(label: str, points, kind: str) -> dict:
    return {'label': label, 'points': points, 'group_id': None, 'shape_type': kind,
            'flags': {}}


@pytest.fixture
def labelme_dir(tmp_path: Path) -> Path:
    root = tmp_path / 'labelme'
    write_labelme(root, 'a', [shape('dog', [[50, 40], [10, 5]], 'rectangle'),  # corners swapped
                              shape('cat', [[20, 10], [40, 12], [30, 30]], 'polygon'),
                              shape('cat', [[0, 0], [5, 5]], 'line')])
    write_labelme(root / 'sub', 'b', [shape('dog', [[40, 30], [43, 34]], 'circle')])
    return root


def test_boxes_categories_and_left_out_shapes(labelme_dir: Path, tmp_path: Path, capsys):
    out = tmp_path / 'coco.json'
    runpy.run_path(str(REPO / 'tools/dataset_converters/labelme2coco.py'),
                   run_name='labelme2coco')['main']([str(labelme_dir), '-o', str(out)])
    assert 'left out: 1 line shapes' in capsys.readouterr().out
    coco = json.loads(out.read_text())
    assert [c['name'] for c in coco['categories']] == ['cat', 'dog']  # sorted labels
    assert [im['file_name'] for im in coco['images']] == ['a.png', 'sub/b.png']
    got = [(a['image_id'], a['category_id'], a['bbox']) for a in coco['annotations']]
    assert got == [(1, 2, [10.0, 5.0, 40.0, 35.0]), (1, 1, [20.0, 10.0, 20.0, 20.0]),
                   (2, 2, [35.0, 25.0, 10.0, 10.0])]  # circle: centre (40, 30), radius 5
    assert coco['annotations'][1]['segmentation'] == [[20, 10, 40, 12, 30, 30]]
    dataset = CocoDataset(ann_file=str(out), img_prefix=str(labelme_dir) + '/', pipeline=[],
                          test_mode=True, classes=('cat', 'dog'))
    np.testing.assert_allclose(dataset.get_ann_info(0)['bboxes'],
                               [[10, 5, 50, 40], [20, 10, 40, 30]])
    np.testing.assert_array_equal(dataset.get_ann_info(0)['labels'], [1, 0])
    assert dataset.data_infos[1]['filename'] == 'sub/b.png'


def test_classes_file_order_and_unknown_label(labelme_dir: Path):
    coco, _ = labelme_to_coco(str(labelme_dir), ('dog', 'cat', 'bird'))
    assert [c['name'] for c in coco['categories']] == ['dog', 'cat', 'bird']
    assert [a['category_id'] for a in coco['annotations']] == [1, 2, 1]
    with pytest.raises(ValueError, match=r"a\.json: shape 0 has label 'dog', which is not"):
        labelme_to_coco(str(labelme_dir), ('cat',))


def test_not_labelme_json_is_named(tmp_path: Path):
    (tmp_path / 'x.json').write_text('{"images": []}')
    with pytest.raises(ValueError, match=r"x\.json: not a LabelMe annotation"):
        labelme_to_coco(str(tmp_path))
