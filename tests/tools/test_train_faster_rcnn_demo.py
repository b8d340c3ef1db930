"""Faster R-CNN (ResNet-18 + FPN, RPN + RoI head) learns the demo shapes through
tools/train.py, and tools/test.py evaluates its RPN alone (the same checkpoint in the RPN
demo config) with ``--eval proposal_fast``.

The shipped config's full schedule is measured in the README ("Two-stage detectors"). The
shared ``faster_rcnn_run`` (240 images, batch 8, a constant learning rate after a short
warm-up, 120 iterations; trained once per session: tests/helpers/trained.py) checks that
it learns: the RPN's and the RoI head's classification losses fall, and the mAP@0.5 and
the proposals' recall are well above what an untrained model scores (about 0). The total
loss is no measure here: the RoI head's box loss grows while the RPN learns to propose
boxes that overlap objects (the positives it is computed on).
"""
from __future__ import annotations

import re

import pytest

from tests.helpers.tools import REPO, run_tool
from tests.helpers.trained import TrainedRun

RPN_CONFIG = REPO / 'configs/demo/rpn_r18_fpn_demo.py'

pytestmark = pytest.mark.slow


def test_faster_rcnn_demo_learns(faster_rcnn_run: TrainedRun):
    train = faster_rcnn_run.train
    assert len(train) == 12  # 120 iterations, logged every 10
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'acc'} <= set(train[0])

    def fall(key: str) -> float:  # mean of the last three logged values / the first three's
        values = [r[key] for r in train]
        return sum(values[-3:]) / sum(values[:3])

    # measured (seed 0, one thread): loss_rpn_cls 0.08 of its start, loss_cls 0.55,
    # bbox_mAP_50 0.82
    assert fall('loss_rpn_cls') < 0.3 and fall('loss_cls') < 0.75, train
    map50 = [r['bbox_mAP_50'] for r in faster_rcnn_run.val]
    assert map50 and map50[-1] >= 0.4, (map50, train)


def test_faster_rcnn_demo_rpn_proposes(faster_rcnn_run: TrainedRun):
    checkpoint = faster_rcnn_run.work_dir / 'latest.pth'
    proposals = run_tool(['tools/test.py', RPN_CONFIG, checkpoint, '--eval', 'proposal_fast',
                          '--cfg-options', *faster_rcnn_run.options])
    recall = dict(re.findall(r'(AR@\d+): ([\d.]+)', proposals.stdout))
    assert set(recall) == {'AR@10', 'AR@50', 'AR@100'}, proposals.stdout[-2000:]
    assert float(recall['AR@100']) >= 0.2, recall
    assert float(recall['AR@10']) <= float(recall['AR@50']) <= float(recall['AR@100'])
