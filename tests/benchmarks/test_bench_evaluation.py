"""``benchmarks/bench_evaluation.py --quick`` runs and prints sane figures (no speed asserted):
both COCO libraries, with the same metrics, and VOC."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / 'benchmarks'


def test_quick_run(tmp_path: Path):
    proc = subprocess.run([sys.executable, str(BENCHMARKS / 'bench_evaluation.py'), '--quick'],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert '50 images x 100 detections' in out
    assert '== CocoMetric (pycocotools)' in out and '== CocoMetric (faster_coco_eval)' in out
    assert '== VOCMetric' in out
    assert 'faster_coco_eval vs pycocotools: ' in out and 'all 12 metrics the same: True' in out
    seconds = {}
    for line in out.splitlines():
        if line.endswith(' s') and len(line.split()) >= 3:
            seconds.setdefault(line.rsplit(None, 2)[0].strip(), float(line.split()[-2]))
    for phase in ('process', 'evaluate', 'accumulate', 'compute_metrics', 'total'):
        assert 0 <= seconds[phase] < 300
    metrics = [line for line in out.splitlines() if line.startswith('metrics: ')]
    assert len(metrics) == 3 and metrics[0] == metrics[1]  # pycocotools, faster-coco-eval
    # jittered ground truths with the top scores: a clearly non-trivial, imperfect mAP
    coco_map = float(metrics[0].split('bbox_mAP ')[1].split(',')[0])
    voc_map = float(metrics[2].split('mAP ')[1].split(',')[0])
    assert 0.1 < coco_map < 0.9 and 0.3 < voc_map < 1.0
