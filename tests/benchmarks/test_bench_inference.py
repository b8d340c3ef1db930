"""``benchmarks/bench_inference.py --quick`` runs, prints sane figures, and its per-class
post-processing baseline agrees with ``SSDHead.get_bboxes`` (no speed asserted)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from tests.helpers.benchmarks import BENCHMARKS, load_benchmark

bench = load_benchmark('bench_inference')
bench_models = load_benchmark('bench_models')


def test_quick_run(tmp_path: Path):
    # OpenMP threads that sleep when idle: the shared test machine stays usable
    env = {**os.environ, 'OMP_WAIT_POLICY': 'PASSIVE'}
    proc = subprocess.run([sys.executable, str(BENCHMARKS / 'bench_inference.py'), '--quick',
                           '--models', 'demo', '--repeats', '1'],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert '(a) and (b) gave the same detections' in out
    ms = [float(line.split(':')[1].split()[0]) for line in out.splitlines()
          if line.startswith(('(a) ', '(b) '))]
    assert len(ms) == 2 and all(m > 0 for m in ms)
    rows = [line.split() for line in out.splitlines()
            if line.split() and line.split()[0] in ('1', '2')]
    assert [r[0] for r in rows] == ['1', '2']
    assert all(float(v.rstrip('x')) > 0 for r in rows for v in r[1:])


def test_synthetic_outputs_have_realistic_candidates():
    model, _ = bench_models.build_detector('ssd300')
    head = model.bbox_head
    cls_scores, bbox_preds = bench.synthetic_head_outputs(head, 2)
    assert [c.shape[-2:] for c in cls_scores] == [(38, 38), (19, 19), (10, 10), (5, 5),
                                                  (3, 3), (1, 1)]
    counts = bench.count_candidates(head, cls_scores, bench.TEST_CFG)
    assert all(1000 < c < 20000 for c in counts)


def test_per_class_baseline_matches_the_head():
    model, _ = bench_models.build_detector('ssd300')
    head = model.bbox_head
    cls_scores, bbox_preds = bench.synthetic_head_outputs(head, 2, seed=3)
    metas = bench_models.synthetic_batch(2, 300, 1)[1]
    metas[1]['scale_factor'] = 2.0
    with torch.inference_mode():
        got = head.get_bboxes(cls_scores, bbox_preds, metas, cfg=dict(bench.TEST_CFG))
        want = bench.per_class_postprocess(head, cls_scores, bbox_preds, metas, bench.TEST_CFG)
    bench.check_same(got, want)
    assert all(len(d) == bench.TEST_CFG['max_per_img'] for d, _ in got)
