"""The demo shapes in the VOC layout: same images as the COCO layout, VOC boxes, difficult
flags, skip-if-current, and the ``--layout voc`` CLI."""
from __future__ import annotations

import json
import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest

from mmssd.datasets import DEMO_CLASSES, AnnotationWarning, VOCDataset, make_demo_dataset
from mmssd.datasets.demo_voc import DIFFICULT_BELOW, TEST_ID_OFFSET, make_demo_voc_dataset
from mmssd.datasets.voc_xml import parse_voc_xml

N07, N12, NTEST = 4, 3, 3


@pytest.fixture(scope='module')
def layouts(tmp_path_factory) -> tuple[Path, Path]:
    """``(coco root, VOCdevkit)`` made from the same seed and image counts."""
    root = tmp_path_factory.mktemp('demo_layouts')
    make_demo_dataset(str(root / 'coco'), num_train=N07 + N12, num_val=NTEST, seed=5)
    out = make_demo_voc_dataset(str(root / 'voc'), num_trainval07=N07, num_trainval12=N12,
                                num_test07=NTEST, seed=5)
    return root / 'coco', Path(out['devkit'])


def voc_images(devkit: Path) -> list[tuple[str, Path]]:
    """(COCO split, VOC image path) pairs, in COCO image order per split."""
    ids07 = (devkit / 'VOC2007/ImageSets/Main/trainval.txt').read_text().split()
    ids12 = (devkit / 'VOC2012/ImageSets/Main/trainval.txt').read_text().split()
    test = (devkit / 'VOC2007/ImageSets/Main/test.txt').read_text().split()
    assert ids07 == [f'{k:06d}' for k in range(N07)]
    assert ids12 == [f'2012_{k:06d}' for k in range(N12)]
    assert test == [f'{TEST_ID_OFFSET + k:06d}' for k in range(NTEST)]
    train = [('train', devkit / 'VOC2007' / i) for i in ids07]
    train += [('train', devkit / 'VOC2012' / i) for i in ids12]
    return train + [('val', devkit / 'VOC2007' / i) for i in test]


def test_same_images_and_boxes_as_the_coco_layout(layouts):
    coco_root, devkit = layouts
    coco = {s: json.loads((coco_root / f'annotations/instances_{s}.json').read_text())
            for s in ('train', 'val')}
    counters = {'train': 0, 'val': 0}
    difficult = 0
    for split, stem in voc_images(devkit):
        image = coco[split]['images'][counters[split]]
        counters[split] += 1
        jpg = stem.parent / 'JPEGImages' / f'{stem.name}.jpg'
        assert jpg.read_bytes() == (coco_root / split / image['file_name']).read_bytes()
        voc = parse_voc_xml(str(stem.parent / 'Annotations' / f'{stem.name}.xml'))
        assert voc.size == (image['width'], image['height'])
        anns = [a for a in coco[split]['annotations'] if a['image_id'] == image['id']]
        assert len(voc.objects) == len(anns)
        for obj, ann in zip(voc.objects, anns):
            x, y, w, h = ann['bbox']
            assert obj.bbox == (x + 1, y + 1, x + w, y + h)
            assert obj.name == DEMO_CLASSES[ann['category_id'] - 1]
            assert obj.difficult == (max(w, h) < DIFFICULT_BELOW)
            difficult += obj.difficult
    assert counters == {'train': N07 + N12, 'val': NTEST}
    assert difficult > 0  # the seed gives some small objects: the ignore path is exercised


def test_difficult_objects_become_ignored_boxes(layouts):
    _, devkit = layouts
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', AnnotationWarning)
        datasets = [VOCDataset(ann_file=str(devkit / f'VOC{y}/ImageSets/Main/{s}.txt'),
                               img_prefix=str(devkit / f'VOC{y}'), classes=DEMO_CLASSES,
                               pipeline=[], test_mode=True)
                    for y, s in (('2007', 'trainval'), ('2012', 'trainval'), ('2007', 'test'))]
    ignored = [len(ds.get_ann_info(i)['bboxes_ignore']) for ds in datasets for i in range(len(ds))]
    assert sum(ignored) > 0
    for ds in datasets:
        for i in range(len(ds)):
            sides = np.diff(ds.get_ann_info(i)['bboxes_ignore'].reshape(-1, 2, 2), axis=1)
            assert (sides.max(axis=2) + 1 < DIFFICULT_BELOW).all()


def test_up_to_date_splits_are_skipped(tmp_path: Path):
    kwargs = dict(num_trainval07=2, num_trainval12=1, num_test07=1, seed=1)
    out = make_demo_voc_dataset(str(tmp_path), **kwargs)
    assert out['generated'] == ['VOC2007/trainval', 'VOC2007/test', 'VOC2012/trainval']
    assert make_demo_voc_dataset(str(tmp_path), **kwargs)['generated'] == []
    assert make_demo_voc_dataset(str(tmp_path), **dict(kwargs, num_test07=2))['generated'] == \
        ['VOC2007/test']
    (tmp_path / 'VOCdevkit/VOC2012/Annotations/2012_000000.xml').unlink()
    assert make_demo_voc_dataset(str(tmp_path), **dict(kwargs, num_test07=2))['generated'] == \
        ['VOC2012/trainval']


def test_cli_voc_layout(tmp_path: Path):
    tool = Path(__file__).resolve().parents[2] / 'tools/misc/make_demo_data.py'
    main = runpy.run_path(str(tool), run_name='make_demo_data')['main']
    main(['--layout', 'voc', '--out', str(tmp_path / 'd'), '--num-train', '3',
          '--num-val', '2'])
    devkit = tmp_path / 'd' / 'VOCdevkit'
    assert (devkit / 'VOC2007/ImageSets/Main/trainval.txt').read_text().split() == ['000000']
    assert len((devkit / 'VOC2012/ImageSets/Main/trainval.txt').read_text().split()) == 2
    assert len((devkit / 'VOC2007/ImageSets/Main/test.txt').read_text().split()) == 2
    assert not (devkit / 'VOC2012/ImageSets/Main/test.txt').exists()
