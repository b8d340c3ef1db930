"""``benchmarks/bench_train_step.py --quick`` runs and prints sane figures (no speed asserted)."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / 'benchmarks'


def test_quick_run(tmp_path: Path):
    proc = subprocess.run([sys.executable, str(BENCHMARKS / 'bench_train_step.py'), '--quick',
                           '--models', 'demo', '--gemm-size', '512'],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, 'OMP_WAIT_POLICY': 'PASSIVE'})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert 'peak fp32: torch.mm' in out and '3x3 convolution' in out
    assert '== demo' in out and 'FLOPs (FlopCounterMode)' in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.split() and line.split()[0] in ('fp32', 'bf16', 'channels_last', 'bf16+cl')}
    assert set(rows) == {'fp32', 'bf16', 'channels_last', 'bf16+cl'}
    losses = []
    for name, cells in rows.items():
        images_per_s, step_ms = float(cells[1]), float(cells[2])
        assert images_per_s > 0 and step_ms > 0, name
        phase_ms = [float(cells[i]) for i in range(3, 13, 2)]  # five '<t> ms' pairs
        assert all(t >= 0 for t in phase_ms)
        assert math.isclose(sum(phase_ms), step_ms, rel_tol=0.02, abs_tol=2), name
        fraction = float(cells[14])
        assert 0 < fraction < 2, name  # a fraction of the measured peak
        losses.append(float(cells[-1]))
    # the same weights and batch: the first step's loss agrees across variants (bf16: ~1%)
    assert max(losses) - min(losses) < 0.05 * abs(losses[0]) + 1e-3
