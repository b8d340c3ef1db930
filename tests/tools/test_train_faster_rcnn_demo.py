"""Faster R-CNN (ResNet-18 + FPN, RPN + RoI head) learns the demo shapes through
tools/train.py, and tools/test.py evaluates its RPN alone (the same checkpoint in the RPN
demo config) with ``--eval proposal_fast``.

The shipped config's full schedule is measured in the README ("Two-stage detectors"). This
shortened run (240 images, batch 8, a constant learning rate after a short warm-up, 120
iterations) checks that it learns: the RPN's and the RoI head's classification losses fall,
and the mAP@0.5 and the proposals' recall are well above what an untrained model scores
(about 0). The total loss is no measure here: the RoI head's box loss grows while the RPN
learns to propose boxes that overlap objects (the positives it is computed on).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from demo_short_run import REPO, demo_data_options, run_tool, train_short

CONFIG = REPO / 'configs/demo/faster_rcnn_r18_fpn_demo.py'
RPN_CONFIG = REPO / 'configs/demo/rpn_r18_fpn_demo.py'

pytestmark = pytest.mark.slow


def test_faster_rcnn_demo_learns_and_its_rpn_proposes(tmp_path: Path):
    options = demo_data_options(tmp_path)
    _, work_dir, records = train_short(CONFIG, tmp_path, 4, options)
    train = [r for r in records if 'loss' in r]
    assert len(train) == 12  # 120 iterations, logged every 10
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'acc'} <= set(train[0])

    def fall(key: str) -> float:  # mean of the last three logged values / the first three's
        values = [r[key] for r in train]
        return sum(values[-3:]) / sum(values[:3])

    # measured (seed 0, one thread): loss_rpn_cls 0.08 of its start, loss_cls 0.55,
    # bbox_mAP_50 0.82
    assert fall('loss_rpn_cls') < 0.3 and fall('loss_cls') < 0.75, train
    map50 = [r['bbox_mAP_50'] for r in records if 'bbox_mAP_50' in r]
    assert map50 and map50[-1] >= 0.4, (map50, train)

    checkpoint = str(work_dir / 'latest.pth')
    proposals = run_tool(['tools/test.py', str(RPN_CONFIG), checkpoint, '--eval',
                          'proposal_fast', '--cfg-options', *options])
    recall = dict(re.findall(r'(AR@\d+): ([\d.]+)', proposals.stdout))
    assert set(recall) == {'AR@10', 'AR@50', 'AR@100'}, proposals.stdout[-2000:]
    assert float(recall['AR@100']) >= 0.2, recall
    assert float(recall['AR@10']) <= float(recall['AR@50']) <= float(recall['AR@100'])
