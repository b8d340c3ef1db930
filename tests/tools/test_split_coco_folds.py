"""tools/misc/split_coco_folds.py and tools/misc/make_competition_demo.py on disk."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmssd.datasets.demo_shapes import make_demo_dataset
from tests.helpers.tools import load_tool

split_tool = load_tool('tools/misc/split_coco_folds.py')
competition_tool = load_tool('tools/misc/make_competition_demo.py')


@pytest.fixture(scope='module')
def competition(tmp_path_factory) -> Path:
    """The demo data (20 train, 4 val images) in the competition layout."""
    root = tmp_path_factory.mktemp('comp')
    make_demo_dataset(root / 'demo', num_train=20, num_val=4, seed=0)
    competition_tool.main(['--demo', str(root / 'demo'), '--out', str(root / 'trash')])
    return root / 'trash'


def test_competition_layout(competition: Path):
    train = json.loads((competition / 'train.json').read_text())
    test = json.loads((competition / 'test.json').read_text())
    assert 'annotations' not in test and len(test['images']) == 4
    for part in (train, test):
        assert [c['id'] for c in part['categories']] == list(range(10))
        assert [im['id'] for im in part['images']] == list(range(len(part['images'])))
        assert all((competition / im['file_name']).is_file() for im in part['images'])
    assert [a['id'] for a in train['annotations']] == list(range(len(train['annotations'])))
    demo = json.loads((competition.parent / 'demo/annotations/instances_train.json').read_text())
    for ann, src in zip(train['annotations'], demo['annotations'], strict=True):
        large = max(src['bbox'][2:]) >= 32
        assert ann['category_id'] == 2 * (src['category_id'] - 1) + large
        assert ann['bbox'] == src['bbox']


def test_split_writes_folds_and_reports_balance(competition: Path, tmp_path: Path, capsys):
    split_tool.main([str(competition / 'train.json'), '--num-folds', '3', '--seed', '1',
                     '--out-dir', str(tmp_path)])
    out = capsys.readouterr().out
    train = json.loads((competition / 'train.json').read_text())
    seen = []
    for k in range(3):
        val = json.loads((tmp_path / f'val{k}.json').read_text())
        fold_train = json.loads((tmp_path / f'train{k}.json').read_text())
        assert val['categories'] == fold_train['categories'] == train['categories']
        seen += [im['id'] for im in val['images']]
        assert f'val{k}.json: {len(val["images"])} images' in out
    assert sorted(seen) == list(range(20))
    assert 'Annotations per class in each validation fold (seed 1)' in out
    assert all(f'{c["name"]} (id {c["id"]})' in out for c in train['categories'])


def test_split_bad_input_exits_with_reason(competition: Path, tmp_path: Path):
    with pytest.raises(SystemExit, match='20 images with annotations cannot be split into '
                                         '30 folds'):
        split_tool.main([str(competition / 'train.json'), '--num-folds', '30',
                         '--out-dir', str(tmp_path)])
    with pytest.raises(ValueError, match='top-level key `categories` is missing'):
        (tmp_path / 'bad.json').write_text(json.dumps({'images': []}))
        split_tool.main([str(tmp_path / 'bad.json')])
