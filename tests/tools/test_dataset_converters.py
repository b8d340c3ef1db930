"""tools/dataset_converters/pascal_voc.py: VOC layout -> COCO json that CocoDataset reads
back with the boxes and labels VOCDataset gives."""
from __future__ import annotations

import json
import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest

from mmssd.datasets import (
    DEMO_CLASSES,
    AnnotationWarning,
    CocoDataset,
    ConcatDataset,
    VOCDataset,
    make_demo_voc_dataset,
)

TOOL = Path(__file__).resolve().parents[2] / 'tools/dataset_converters/pascal_voc.py'


@pytest.fixture(scope='module')
def converted(tmp_path_factory) -> tuple[Path, Path, list[str]]:
    """``(devkit, out dir, written files)`` of the converted demo VOC layout."""
    root = tmp_path_factory.mktemp('convert')
    devkit = Path(make_demo_voc_dataset(str(root), num_trainval07=5, num_trainval12=4,
                                        num_test07=4, seed=2)['devkit'])
    main = runpy.run_path(str(TOOL), run_name='pascal_voc')['main']
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', AnnotationWarning)
        written = main([str(devkit), '-o', str(root / 'out'), '--classes', *DEMO_CLASSES])
    return devkit, root / 'out', written


def voc(devkit: Path, year: str, split: str) -> VOCDataset:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', AnnotationWarning)
        return VOCDataset(ann_file=str(devkit / f'VOC{year}/ImageSets/Main/{split}.txt'),
                          img_prefix=str(devkit / f'VOC{year}'), classes=DEMO_CLASSES,
                          pipeline=[], test_mode=True)


def test_files_named_like_mmdetection(converted):
    _, out, written = converted
    assert [Path(p).name for p in written] == ['voc07_trainval.json', 'voc07_test.json',
                                               'voc12_trainval.json', 'voc0712_trainval.json']
    coco = json.loads((out / 'voc07_test.json').read_text())
    assert coco['categories'] == [{'id': i + 1, 'name': n, 'supercategory': 'none'}
                                  for i, n in enumerate(DEMO_CLASSES)]
    assert [im['id'] for im in coco['images']] == [1, 2, 3, 4]
    assert coco['images'][0]['file_name'] == 'VOC2007/JPEGImages/500000.jpg'
    assert {a['iscrowd'] for a in coco['annotations']} <= {0, 1}


@pytest.mark.parametrize('name, parts', [
    ('voc07_trainval', [('2007', 'trainval')]), ('voc07_test', [('2007', 'test')]),
    ('voc12_trainval', [('2012', 'trainval')]),
    ('voc0712_trainval', [('2007', 'trainval'), ('2012', 'trainval')])])
def test_coco_dataset_reads_back_what_voc_dataset_gives(converted, name, parts):
    devkit, out, _ = converted
    expected = ConcatDataset([voc(devkit, y, s) for y, s in parts])
    got = CocoDataset(ann_file=str(out / f'{name}.json'), img_prefix=str(devkit),
                      classes=DEMO_CLASSES, pipeline=[], test_mode=True)
    assert len(got) == len(expected)
    n_ignored = 0
    for i in range(len(got)):
        dataset_idx, sample_idx = expected.locate(i)
        info = expected.datasets[dataset_idx].data_infos[sample_idx]
        year = parts[dataset_idx][0]
        assert got.data_infos[i]['file_name'] == f'VOC{year}/{info["filename"]}'
        want, have = expected.get_ann_info(i), got.get_ann_info(i)
        for key in ('bboxes', 'labels', 'bboxes_ignore', 'labels_ignore'):
            np.testing.assert_array_equal(have[key], want[key], err_msg=f'{key} of image {i}')
        n_ignored += len(have['bboxes_ignore'])
    if name == 'voc0712_trainval':  # all trainval images: some small (difficult) objects
        assert n_ignored > 0  # difficult objects made the round trip as iscrowd


def test_missing_year_is_named(tmp_path: Path):
    main = runpy.run_path(str(TOOL), run_name='pascal_voc')['main']
    (tmp_path / 'VOC2007').mkdir()
    with pytest.raises(FileNotFoundError, match=r'--years 2012: .*VOC2012 is not a folder'):
        main([str(tmp_path), '--years', '2012'])
    with pytest.raises(FileNotFoundError, match=r'--years 2007: no split file'):
        main([str(tmp_path)])
