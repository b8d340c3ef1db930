"""tools/misc/browse_dataset.py saves the augmented training images with their boxes."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import mmcv
import numpy as np

from mmssd.datasets import make_demo_voc_dataset
from mmssd.datasets.demo_shapes import make_demo_dataset
from mmssd.visualization import class_palette

REPO = Path(__file__).resolve().parents[2]


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'browse_dataset', REPO / 'tools/misc/browse_dataset.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_browse_voc_demo_draws_ground_truth(tmp_path, monkeypatch):
    make_demo_voc_dataset(str(tmp_path / 'data/demo_voc'), num_trainval07=3, num_trainval12=3,
                          num_test07=1)
    monkeypatch.chdir(tmp_path)  # the config's relative data_root resolves from here
    out = tmp_path / 'browse'
    load_tool().main([str(REPO / 'configs/pascal_voc/ssdlite_mobilenetv2_demo_voc0712.py'),
                      '--output-dir', str(out), '--max-images', '4'])
    files = sorted(out.glob('*.png'))
    assert len(files) == 4
    colours = np.array(class_palette(5))
    for path in files:
        img = mmcv.imread(str(path))
        assert img.shape == (192, 192, 3)  # after the pipeline's Resize, before Normalize
        # some pixels carry a class colour exactly: a box was drawn
        matches = (img[:, :, None, :] == colours[None, None]).all(-1).any(-1)
        assert matches.sum() > 50, path


def test_browse_yolox_demo_draws_mixed_samples(tmp_path):
    """The YOLOX demo's MultiImageMixDataset: each saved image is a Mosaic + RandomAffine
    sample with its boxes, also when --skip-type keeps the tensor-packing steps."""
    make_demo_dataset(tmp_path / 'demo', num_train=6, num_val=1)
    root = tmp_path / 'demo'
    options = ['--cfg-options', f'data.train.dataset.ann_file={root}/annotations/'
               'instances_train.json', f'data.train.dataset.img_prefix={root}/train/']
    for out, skip in ((tmp_path / 'plain', []), (tmp_path / 'tensors', ['--skip-type', 'Pad'])):
        # the mixing draws from np.random: seeded, the three samples all keep boxes (the
        # demo keeps a sample whose boxes all fall outside, as mmdetection's
        # FilterAnnotations(keep_empty=False) does)
        np.random.seed(0)
        load_tool().main([str(REPO / 'configs/demo/yolox_tiny_demo.py'), '--output-dir',
                          str(out), '--max-images', '3', *skip, *options])
        files = sorted(out.glob('*.png'))
        assert len(files) == 3
        colours = np.array(class_palette(5))
        for path in files:
            img = mmcv.imread(str(path))
            assert img.shape == (192, 192, 3)  # Mosaic's 384 canvas warped, then resized
            matches = (img[:, :, None, :] == colours[None, None]).all(-1).any(-1)
            assert matches.sum() > 50, path


def test_skip_type_removes_steps_inside_wrappers():
    tool = load_tool()
    cfg = dict(type='RepeatDataset', times=2, dataset=dict(
        type='ConcatDataset', datasets=[dict(type='VOCDataset', pipeline=[
            dict(type='LoadImageFromFile'), dict(type='Normalize'), dict(type='Collect')])]))
    inner = tool.without_steps(cfg, ['Normalize', 'Collect'])['dataset']['datasets'][0]
    assert [step['type'] for step in inner['pipeline']] == ['LoadImageFromFile']
