"""mmssd's metrics set their prefix, so mmengine does not warn that it is unset, and the
COCO/VOC metric names stay as in mmdetection 2.x (``bbox_mAP``, ``mAP``)."""
from __future__ import annotations

import pytest

from mmssd.evaluation import CocoMetric, DumpResults, VOCMetric
from tests.helpers.logs import current_log_messages


@pytest.fixture
def mmengine_warnings():
    """The warnings mmengine's ``print_log(logger='current')`` logs during the test."""
    with current_log_messages() as seen:
        yield seen


@pytest.mark.parametrize('build, prefix', [
    (lambda: CocoMetric(), ''), (lambda: VOCMetric(), ''),
    (lambda: CocoMetric(prefix='coco'), 'coco'),
    (lambda: DumpResults(out_file_path='results.pkl'), 'dump')])
def test_prefix_is_set_and_not_warned_about(mmengine_warnings, build, prefix):
    assert build().prefix == prefix
    assert not [m for m in mmengine_warnings if 'prefix' in m]


def test_the_warning_is_what_mmengine_says_without_a_prefix(mmengine_warnings):
    """The check above can fail: mmengine's own metric without a prefix warns."""
    from mmengine.evaluator import DumpResults as MMEngineDumpResults
    MMEngineDumpResults(out_file_path='results.pkl')
    assert mmengine_warnings == ['The prefix is not set in metric class DumpResults.']


def test_empty_prefix_keeps_the_names():
    metric = VOCMetric()
    metric.compute_metrics = lambda results: {'mAP': 0.5}
    metric.results = [None]
    assert metric.evaluate(1) == {'mAP': 0.5}
