"""browse_dataset.py reports its progress with a bar (images done / total)."""
from __future__ import annotations

from pathlib import Path

from mmssd.datasets import make_demo_dataset
from tests.helpers.tools import REPO, load_tool


def test_browse_dataset_shows_a_progress_bar(tmp_path: Path, capsys):
    make_demo_dataset(str(tmp_path / 'data'), num_train=3, num_val=0, seed=0)
    load_tool('tools/misc/browse_dataset.py').main(
        [str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'), '--output-dir',
         str(tmp_path / 'out'), '--max-images', '3', '--cfg-options',
         f"data.train.ann_file={tmp_path / 'data/annotations/instances_train.json'}",
         f"data.train.img_prefix={tmp_path / 'data/train'}/"])
    captured = capsys.readouterr()
    assert 'browse: 100%' in captured.err and '3/3' in captured.err
    assert len(list((tmp_path / 'out').glob('*.png'))) == 3
