"""RetinaNet (ResNet-18 + FPN + RetinaHead) learns the demo shapes through tools/train.py.

The shipped config reaches bbox mAP@0.5 0.95 in 8 epochs (6.2 min) on the full demo data (README).
The shared ``retinanet_run`` (240 images, batch 8, a constant learning rate after a short
warm-up, 180 iterations; trained once per session: tests/helpers/trained.py) checks that
it learns: the loss falls, and the validation runs. Learning starts slowly from scratch, so
the bar is modest; the full schedule is measured in the README.
"""
from __future__ import annotations

import pytest

from tests.helpers.trained import TrainedRun

pytestmark = pytest.mark.slow


def test_retinanet_demo_learns(retinanet_run: TrainedRun):
    train = retinanet_run.train
    losses = [r['loss'] for r in train]
    assert len(losses) == 18  # 180 iterations, logged every 10
    # Learning in 180 iterations from scratch is slow and noisy. Measured over seeds 0-2
    # with GroupSampler (the default) and DefaultSampler: the lowest logged loss after the
    # first three is 0.79 or less of their mean (six runs), the box loss's last three 0.68-
    # 0.89 of its first three; the mAP@0.5 is 0.0-0.085 (so it is not asserted beyond
    # being computed): the full schedule is measured in the README.
    assert min(losses[3:]) < 0.85 * sum(losses[:3]) / 3, losses
    bbox = [r['loss_bbox'] for r in train]
    assert sum(bbox[-3:]) < 0.95 * sum(bbox[:3]), bbox
    map50 = [r['bbox_mAP_50'] for r in retinanet_run.val]
    assert len(map50) == 1 and 0 <= map50[0] <= 1, (map50, losses)
