"""``benchmarks/bench_group_padding.py --quick`` on a small demo set: the padded fraction
of the batches it reports matches an independent count, and grouping pads less."""
from __future__ import annotations

import re

import numpy as np

from mmssd.datasets import make_demo_dataset
from tests.helpers.benchmarks import load_benchmark
from tests.helpers.tools import REPO

bench = load_benchmark('bench_group_padding')


def test_padded_fraction_by_hand():
    content = np.array([[10, 10], [10, 20], [20, 10]])
    padded = np.array([[16, 16], [16, 32], [32, 16]])
    # batches [0, 1] -> canvas 2 * 16 * 32, [2] -> 32 * 16; content 100 + 200 + 200
    assert bench.padded_fraction([0, 1, 2], 2, content, padded) == 1 - 500 / (1024 + 512)


def test_quick_run_pads_less_with_groups(tmp_path, capsys):
    root = tmp_path / 'demo'
    make_demo_dataset(root, num_train=32, num_val=2, seed=0)
    bench.main([str(REPO / 'configs/retinanet/retinanet_r18_fpn_8e_demo.py'), '--keep-ratio',
                '--quick', '--cfg-options', 'data.samples_per_gpu=4',
                f'data.train.ann_file={root}/annotations/instances_train.json',
                f'data.train.img_prefix={root}/train/'])
    out = capsys.readouterr().out
    floor = float(re.search(r'sampler: ([\d.]+)%', out).group(1))
    default = float(re.search(r'DefaultSampler +padded pixels +([\d.]+)%', out).group(1))
    grouped = float(re.search(r'GroupSampler +padded pixels +([\d.]+)%', out).group(1))
    assert '32 training images' in out and 'samples_per_gpu=4' in out
    assert floor < grouped < default
