"""``benchmarks/bench_sim_ota.py`` runs (so it cannot rot); its run raises unless the
per-image baseline assigns every prior as the batched assigner."""
from __future__ import annotations

import sys

import torch

from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark('bench_sim_ota')


def test_quick_run_prints_equal_assignments(monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', ['bench_sim_ota.py', '--images', '2', '--repeats', '1'])
    torch_threads = torch.get_num_threads()
    bench.main()
    torch.set_num_threads(torch_threads)
    out = capsys.readouterr().out
    assert 'identical assignments' in out and 'speed-up' in out
