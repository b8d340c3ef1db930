"""YOLO <-> COCO converters (mmssd.datasets.converters.yolo and the two tools): round trips
on the demo shapes, read back by CocoDataset, and errors naming the file and line."""
from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest

from mmssd.datasets import DEMO_CLASSES, CocoDataset, make_demo_dataset
from mmssd.datasets.converters import coco_to_yolo, yolo_to_coco

REPO = Path(__file__).resolve().parents[3]


def tool(name: str):
    return runpy.run_path(str(REPO / f'tools/dataset_converters/{name}.py'),
                          run_name=name)['main']


@pytest.fixture(scope='module')
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('yolo') / 'demo'
    make_demo_dataset(str(root), num_train=2, num_val=6, seed=3)
    return root


def boxes_and_labels(ann_file: Path, img_prefix: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    dataset = CocoDataset(ann_file=str(ann_file), img_prefix=str(img_prefix) + '/',
                          pipeline=[], test_mode=True, classes=DEMO_CLASSES)
    return [(dataset.get_ann_info(i)['bboxes'], dataset.get_ann_info(i)['labels'])
            for i in range(len(dataset))]


def test_coco_yolo_coco_round_trip(demo: Path, tmp_path: Path, capsys):
    ann = demo / 'annotations/instances_val.json'
    names = tool('coco2yolo')([str(ann), '-o', str(tmp_path / 'labels')])
    assert names == DEMO_CLASSES
    assert (tmp_path / 'labels/classes.txt').read_text().split() == list(DEMO_CLASSES)
    coco = json.loads(ann.read_text())
    # one file per image; a line per object, in YOLO's normalised centre format
    first = coco['images'][0]
    lines = (tmp_path / 'labels' / (Path(first['file_name']).stem + '.txt')).read_text()
    objs = [a for a in coco['annotations'] if a['image_id'] == first['id']]
    assert len(lines.splitlines()) == len(objs)
    x, y, w, h = objs[0]['bbox']
    expected = [objs[0]['category_id'] - 1, (x + w / 2) / first['width'],
                (y + h / 2) / first['height'], w / first['width'], h / first['height']]
    np.testing.assert_allclose([float(v) for v in lines.splitlines()[0].split()], expected,
                               atol=1e-6)
    out = tmp_path / 'back.json'
    tool('yolo2coco')([str(demo / 'val'), str(tmp_path / 'labels'), '--classes',
                       str(tmp_path / 'labels/classes.txt'), '-o', str(out)])
    assert f'wrote {out}: 6 images' in capsys.readouterr().out
    original = boxes_and_labels(ann, demo / 'val')
    converted = boxes_and_labels(out, demo / 'val')
    assert len(converted) == len(original) == 6
    for (boxes_a, labels_a), (boxes_b, labels_b) in zip(original, converted, strict=True):
        np.testing.assert_array_equal(labels_a, labels_b)
        np.testing.assert_allclose(boxes_a, boxes_b, atol=1e-3)  # 6 decimals of ~190 px


def test_yolo_coco_yolo_round_trip(demo: Path, tmp_path: Path):
    labels = tmp_path / 'labels'
    (labels / 'sub').mkdir(parents=True)
    images = tmp_path / 'images'
    (images / 'sub').mkdir(parents=True)
    src = sorted((demo / 'val').glob('*.jpg'))
    for i, path in enumerate(src[:3]):  # an image in a sub-folder, one without labels
        target = images / ('sub' if i == 1 else '') / path.name
        target.write_bytes(path.read_bytes())
    (labels / f'{src[0].stem}.txt').write_text('0 0.5 0.5 0.25 0.5\n2 0.125 0.25 0.25 0.5\n')
    (labels / 'sub' / f'{src[1].stem}.txt').write_text('4 0.5 0.5 1.0 1.0\n')
    (tmp_path / 'names.txt').write_text('\n'.join(DEMO_CLASSES) + '\n')
    coco = yolo_to_coco(str(images), str(labels), DEMO_CLASSES)
    assert [im['file_name'] for im in coco['images']] == sorted(
        [src[0].name, f'sub/{src[1].name}', src[2].name])
    again = tmp_path / 'again'
    coco_to_yolo(coco, str(again))
    assert (again / f'{src[0].stem}.txt').read_text() == (
        '0 0.500000 0.500000 0.250000 0.500000\n2 0.125000 0.250000 0.250000 0.500000\n')
    assert (again / 'sub' / f'{src[1].stem}.txt').read_text() == (
        '4 0.500000 0.500000 1.000000 1.000000\n')
    assert (again / f'{src[2].stem}.txt').read_text() == ''


def test_coco_to_yolo_clips_and_leaves_out_crowd(tmp_path: Path):
    coco = {'images': [{'id': 1, 'file_name': 'a.jpg', 'width': 100, 'height': 50}],
            'categories': [{'id': 7, 'name': 'dog'}, {'id': 3, 'name': 'cat'}],
            'annotations': [
                {'id': 1, 'image_id': 1, 'category_id': 7, 'bbox': [-10, 0, 60, 50]},
                {'id': 2, 'image_id': 1, 'category_id': 3, 'bbox': [0, 0, 10, 10],
                 'iscrowd': 1},
                {'id': 3, 'image_id': 1, 'category_id': 3, 'bbox': [120, 0, 10, 10]}]}
    names, skipped = coco_to_yolo(coco, str(tmp_path))
    assert names == ('cat', 'dog')  # sorted category ids 3, 7
    assert (tmp_path / 'a.txt').read_text() == '1 0.250000 0.500000 0.500000 1.000000\n'
    assert skipped == {'crowd annotations': 1, 'boxes without area inside the image': 1}


@pytest.mark.parametrize('line, message', [
    ('0 0.5 0.5 0.2\n', 'expected 5 fields'),
    ('x 0.5 0.5 0.2 0.2\n', 'expected an integer class'),
    ('5 0.5 0.5 0.2 0.2\n', 'class index 5 is outside the 5 names'),
])
def test_bad_label_lines_name_file_and_line(demo: Path, tmp_path: Path, line: str, message: str):
    img = sorted((demo / 'val').glob('*.jpg'))[0]
    (tmp_path / 'images').mkdir()
    (tmp_path / 'images' / img.name).write_bytes(img.read_bytes())
    (tmp_path / 'labels').mkdir()
    label = tmp_path / 'labels' / f'{img.stem}.txt'
    label.write_text('1 0.5 0.5 0.1 0.1\n' + line)
    with pytest.raises(ValueError, match=message) as info:
        yolo_to_coco(str(tmp_path / 'images'), str(tmp_path / 'labels'), DEMO_CLASSES)
    assert f'{label}:2' in str(info.value)


def test_label_without_image_and_bad_names_file(tmp_path: Path):
    (tmp_path / 'images').mkdir()
    (tmp_path / 'labels').mkdir()
    (tmp_path / 'labels/ghost.txt').write_text('0 0.5 0.5 0.1 0.1\n')
    with pytest.raises(ValueError, match=r"have no image .*ghost.txt"):
        yolo_to_coco(str(tmp_path / 'images'), str(tmp_path / 'labels'), ('a',))
    (tmp_path / 'names.txt').write_text('a\nb\na\n')
    with pytest.raises(ValueError, match=r"repeats \['a'\]"):
        tool('yolo2coco')([str(tmp_path / 'images'), str(tmp_path / 'labels'), '--classes',
                           str(tmp_path / 'names.txt'), '-o', str(tmp_path / 'x.json')])
