"""tools/misc/check_dataset.py: exit status, report and figure, from a json or a config
(with train images leaking into the test split)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import pytest

from mmssd.datasets import make_demo_dataset
from tests.helpers.tools import REPO, load_tool


@pytest.fixture(scope='module')
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('check_tool') / 'demo'
    make_demo_dataset(str(root), num_train=6, num_val=4, seed=1)
    return root


def test_clean_json_exits_zero_with_report_and_figure(demo: Path, tmp_path: Path, capsys):
    status = load_tool('tools/misc/check_dataset.py').main(
        [str(demo / 'annotations/instances_train.json'), '--img-prefix', str(demo / 'train'),
         '--out-dir', str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert '== instances_train' in out and '6 images' in out and 'no errors' in out
    assert (tmp_path / 'dataset_check.txt').read_text().strip() == out.split('saved')[0].strip()
    img = mpimg.imread(str(tmp_path / 'dataset_check.png'))
    assert img.shape[:2] == (800, 1100) and img[..., :3].std() > 0.05


def test_config_splits_leakage_and_missing_image_fail(demo: Path, tmp_path: Path, capsys):
    missing = demo / 'val' / sorted(p.name for p in (demo / 'val').iterdir())[0]
    missing.rename(tmp_path / 'moved.jpg')
    # the test split: the training images under another annotation file
    leaked = tmp_path / 'test.json'
    leaked.write_text((demo / 'annotations/instances_train.json').read_text())
    options = [f'data.train.ann_file={demo}/annotations/instances_train.json',
               f'data.train.img_prefix={demo}/train/',
               f'data.val.ann_file={demo}/annotations/instances_val.json',
               f'data.val.img_prefix={demo}/val/',
               f'data.test.ann_file={leaked}', f'data.test.img_prefix={demo}/train/']
    try:
        status = load_tool('tools/misc/check_dataset.py').main(
            [str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'), '--out-dir',
             str(tmp_path), '--no-images', '--cfg-options', *options])
        assert status == 0  # without reading the images, neither defect shows
        status = load_tool('tools/misc/check_dataset.py').main(
            [str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'), '--out-dir',
             str(tmp_path), '--cfg-options', *options])
    finally:
        (tmp_path / 'moved.jpg').rename(missing)
    out = capsys.readouterr().out.split('no errors')[-1]
    assert status == 1
    assert '== train' in out and '== val' in out and '== test' in out
    assert f'[ERROR] 1 missing image files (e.g. {missing} (image id' in out
    assert '[ERROR] 6 images also in train' in out
    assert 'errors found' in out
