"""``benchmarks/bench_channels_last.py --quick`` runs and gives per-round ratios (no speed
asserted); its channels_last copy is what the detector's option makes."""
from __future__ import annotations

import math

import pytest
import torch

from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark('bench_channels_last')
bench_models = load_benchmark('bench_models')


@pytest.mark.slow  # about 17 s on the shared 2-core machine
def test_quick_run_gives_ratios_per_round(capsys):
    results = bench.main(['--quick'])
    assert set(results) == {'demo'}
    for phase in ('train', 'inference'):
        ratios = results['demo'][phase]
        assert len(ratios) == 2 and all(math.isfinite(r) and r > 0 for r in ratios)
    out = capsys.readouterr().out
    assert 'OMP_NUM_THREADS=' in out and 'default / channels_last' in out


def test_channels_last_copy_matches_the_option():
    model, _ = bench_models.build_detector('demo')
    cl = bench.as_channels_last(model)
    assert cl.channels_last and not model.channels_last
    conv = next(m for m in cl.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
