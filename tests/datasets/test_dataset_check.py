"""mmssd.datasets.dataset_check: every defect found (and classed as error or warning) in a
demo dataset broken on purpose; the statistics match counts made here from the json."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mmssd.datasets import make_demo_dataset
from mmssd.datasets.dataset_check import ERROR, WARNING, check_coco_dataset, shared_images


@pytest.fixture(scope='module')
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('check') / 'demo'
    make_demo_dataset(str(root), num_train=4, num_val=6, seed=5)
    return root


def test_clean_dataset_statistics(demo: Path):
    ann = demo / 'annotations/instances_val.json'
    report = check_coco_dataset(str(ann), str(demo / 'val'), progress=False)
    coco = json.loads(ann.read_text())
    assert not report.has_errors, report.text()
    assert report.class_names == tuple(c['name'] for c in coco['categories'])
    expected = np.bincount([a['category_id'] - 1 for a in coco['annotations']], minlength=5)
    # the 6 images need not hold every class: only those classes may be reported empty
    np.testing.assert_array_equal(report.per_class, expected)
    empty = [f for f in report.findings if f.what == 'classes without a single box']
    assert (empty[0].count if empty else 0) == int((expected == 0).sum())
    areas = sorted(np.sqrt(a['bbox'][2] * a['bbox'][3]) for a in coco['annotations'])
    np.testing.assert_allclose(sorted(report.box_sizes), areas)
    np.testing.assert_array_equal(report.image_sizes,
                                  [[im['width'], im['height']] for im in coco['images']])
    assert report.boxes_per_image.sum() == len(coco['annotations'])


def test_every_defect_is_reported(demo: Path, tmp_path: Path):
    images = tmp_path / 'images'
    shutil.copytree(demo / 'val', images)
    coco = json.loads((demo / 'annotations/instances_val.json').read_text())
    files = [im['file_name'] for im in coco['images']]
    (images / files[0]).unlink()  # missing
    (images / files[1]).write_bytes(b'not an image')  # unreadable
    shutil.copy(images / files[2], images / 'copy.jpg')  # same content twice
    coco['images'][4]['width'] += 10  # json size differs from the file
    img5 = coco['images'][5]
    w = img5['width']
    base = dict(image_id=img5['id'], category_id=1, iscrowd=0, area=1)
    coco['annotations'] += [
        dict(base, id=1001, bbox=[w + 5, 0, 10, 10]),  # wholly outside
        dict(base, id=1002, bbox=[5, 5, 0, 10]),  # zero area
        dict(base, id=1003, bbox=[5, 5, -3, 10]),  # inverted
        dict(base, id=1004, bbox=[w - 5, 5, 10, 10]),  # partly outside: clipped
        dict(base, id=1005, bbox=[5, 5, 1, 10]),  # tiny
        dict(base, id=1006, bbox=[5, 5, 10, 10], image_id=999),  # no such image
        dict(base, id=1007, bbox=[5, 5, 10, 10], category_id=42),  # no such category
        dict(base, id=1008, bbox=[5, 5, 10, 10], iscrowd=1),  # crowd
    ]
    coco['categories'].append({'id': 6, 'name': 'hexagon', 'supercategory': 'shape'})
    coco['images'].append(dict(coco['images'][2], id=77))  # id differs, same file_name
    coco['images'].append(dict(coco['images'][2], id=78, file_name='copy.jpg'))
    ann = tmp_path / 'broken.json'
    ann.write_text(json.dumps(coco))
    report = check_coco_dataset(str(ann), str(images), progress=False)
    got = {(f.severity, f.what): f.count for f in report.findings}
    expected = {
        (ERROR, 'missing image files'): 1,
        (ERROR, 'unreadable image files'): 1,
        (ERROR, 'images whose size differs from the json'): 1,
        (ERROR, 'images listed twice under the same file_name'): 1,
        (ERROR, 'boxes the loader drops (dropped: wholly outside the image)'): 1,
        (ERROR, 'boxes the loader drops (dropped: zero area (x2 == x1 or y2 == y1))'): 1,
        (ERROR, 'boxes the loader drops (dropped: x2 < x1 or y2 < y1)'): 1,
        (ERROR, 'annotations of an image id not in images'): 1,
        (ERROR, 'annotations of a category id not in categories'): 1,
        (WARNING, 'boxes partly outside their image (clipped at load)'): 1,
        (WARNING, 'boxes with a side under 2 px'): 1,
        (WARNING, 'crowd regions (ignored in training and evaluation)'): 1,
        (WARNING, 'images with identical content'): 2,  # copy.jpg, files[2] listed again
    }
    for key, count in expected.items():
        assert got.pop(key) == count, key
    # what remains: classes without boxes, at least the new hexagon
    assert list(got) == [(ERROR, 'classes without a single box')]
    assert "'hexagon'" in report.text() and report.has_errors
    assert f'{images / files[0]} (image id' in report.text()  # names the file


def test_shared_images_between_splits(demo: Path):
    train = check_coco_dataset(str(demo / 'annotations/instances_train.json'),
                               str(demo / 'train'), progress=False)
    again = check_coco_dataset(str(demo / 'annotations/instances_train.json'),
                               str(demo / 'train'), progress=False, name='val')
    val = check_coco_dataset(str(demo / 'annotations/instances_val.json'), str(demo / 'val'),
                             progress=False)
    assert shared_images(train, val) == []
    assert len(shared_images(train, again)) == 4


def test_bad_inputs_are_named(demo: Path, tmp_path: Path):
    with pytest.raises(FileNotFoundError, match='nothing.json'):
        check_coco_dataset(str(tmp_path / 'nothing.json'))
    (tmp_path / 'list.json').write_text('[]')
    with pytest.raises(ValueError, match=r"list.json is not COCO json"):
        check_coco_dataset(str(tmp_path / 'list.json'))
    with pytest.raises(ValueError, match=r"classes \['dog'\] are not categories"):
        check_coco_dataset(str(demo / 'annotations/instances_val.json'), classes=('dog',),
                           read_images=False)
