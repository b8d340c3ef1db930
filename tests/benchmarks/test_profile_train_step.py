"""``benchmarks/profile_train_step.py`` times and profiles a step of any config's model."""
from __future__ import annotations

import pytest

from tests.helpers.benchmarks import load_benchmark
from tests.helpers.tools import REPO

profile_train_step = load_benchmark('profile_train_step')


@pytest.mark.parametrize('config, option', [
    ('configs/demo/ssdlite_mobilenetv2_demo.py', None),
    ('configs/demo/cascade_rcnn_r18_fpn_demo.py', 'model.train_cfg.rcnn.2.sampler.num=16'),
])
def test_times_steps_and_lists_the_costliest_operators(config, option, capsys):
    argv = [str(REPO / config), '--batch-size', '2', '--size', '96', '--steps', '2', '--top', '4']
    if option:
        argv += ['--cfg-options', option]
    result = profile_train_step.main(argv)
    assert len(result['times']) == 2 and all(t > 0 for t in result['times'])
    shares = [share for _, share in result['top']]
    assert len(shares) == 4 and shares == sorted(shares, reverse=True) and sum(shares) <= 1
    out = capsys.readouterr().out
    assert 'step: ' in out and 'batch 2 x 96px' in out
