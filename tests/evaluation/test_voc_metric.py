"""VOCMetric end to end through process / evaluate with fake batches."""
from __future__ import annotations

import numpy as np
import pytest

from mmssd.evaluation import VOCMetric
from mmssd.registry import METRICS
from tests.helpers.voc_cases import HAND_ANNS, HAND_DETS, ann, dets

CLASSES = ('cat', 'dog')


def run_metric(metric: VOCMetric, year: int | None = 2007, anns=HAND_ANNS,
               results=HAND_DETS) -> dict:
    """Images A, B as one plain batch, image C as a test-time-aug batch (list of lists)."""
    metric.dataset_meta = {'classes': CLASSES, 'cat_ids': [0, 1], 'ann_file': 'x.txt',
                           'year': year}
    metas = [{'img_id': i, 'ori_shape': (60, 60, 3), 'ann_info': a} for i, a in enumerate(anns)]
    metric.process({'img_metas': metas[:2]}, results[:2])
    metric.process({'img_metas': [metas[2:], metas[2:]]}, results[2:])
    return metric.evaluate(len(anns))


# By hand (see voc_cases): AP at IoU 0.5 is 3/4 ('area') or 17/22 ('11points'), at
# IoU 0.3 it is 5/6 or 28/33; class 'dog' has no gt and does not count.
def test_year_2007_uses_11_points():
    out = run_metric(VOCMetric(), year=2007)
    assert list(out) == ['mAP', 'AP50']
    assert out['AP50'] == round(17 / 22, 3) == 0.773
    assert out['mAP'] == pytest.approx(17 / 22)


@pytest.mark.parametrize('year', [2012, None])
def test_other_years_use_area(year):
    out = run_metric(METRICS.build({'type': 'VOCMetric'}), year=year)
    assert out == {'mAP': pytest.approx(3 / 4), 'AP50': 0.75}


def test_several_thresholds_mmdetection_keys():
    out = run_metric(VOCMetric(metric='mAP', iou_thr=[0.3, 0.5]), year=2012)
    assert list(out) == ['mAP', 'AP30', 'AP50']
    assert (out['AP30'], out['AP50']) == (0.833, 0.75)
    assert out['mAP'] == pytest.approx((5 / 6 + 3 / 4) / 2)  # not rounded, as mmdetection


def test_eval_mode_given_wins_over_year():
    out = run_metric(VOCMetric(iou_thrs=0.3, eval_mode='area'), year=2007)
    assert out['AP30'] == 0.833


def test_legacy_coordinates_by_default():
    """gt [0, 0, 9, 9], det [0, 0, 9, 4]: IoU 36/81 < 0.5, but 50/100 = 0.5 counting the
    end pixels (VOC devkit), which is VOCMetric's default."""
    anns = [ann([[0, 0, 9, 9]], [0], [], [])]
    results = [[dets([0, 0, 9, 4, 0.9]), dets()]]
    for legacy, expected in ((True, 1.0), (False, 0.0)):
        metric = VOCMetric(use_legacy_coordinate=legacy)
        metric.dataset_meta = {'classes': CLASSES, 'year': 2012}
        metric.process({'img_metas': [{'img_id': 0, 'ann_info': anns[0]}]}, results)
        assert metric.evaluate(1)['AP50'] == expected


def test_scale_ranges_keys():
    out = run_metric(VOCMetric(scale_ranges=[(0, 10), (10, 1e5)]), year=2012)
    assert out == {'mAP': pytest.approx(3 / 8), 'AP50_0_10': 0.0, 'AP50_10_100000': 0.75}


def test_missing_ann_info_is_explained():
    metric = VOCMetric()
    with pytest.raises(KeyError, match=r"'ann_info'.*got keys \['img_id'\].*Collect"):
        metric.process({'img_metas': [{'img_id': 3}]}, [[dets(), dets()]])


def test_class_names_must_match_results():
    metric = VOCMetric()
    metric.dataset_meta = {'classes': ('cat',), 'year': 2007}
    metric.process({'img_metas': [{'img_id': 0, 'ann_info': HAND_ANNS[0]}]}, HAND_DETS[:1])
    with pytest.raises(ValueError, match="has 1 names but the detections have 2 classes"):
        metric.evaluate(1)


def test_bad_arguments_are_named():
    with pytest.raises(KeyError, match='recall'):
        VOCMetric(metric=['mAP', 'recall'])
    with pytest.raises(ValueError, match='disagree'):
        VOCMetric(iou_thrs=0.5, iou_thr=0.75)
    with pytest.raises(ValueError, match='eval_mode'):
        VOCMetric(eval_mode='voc07')
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        VOCMetric(iou_thr=50)
    assert VOCMetric(iou_thrs=[0.5], iou_thr=0.5).iou_thrs == [0.5]
    assert VOCMetric.default_prefix == ''  # unprefixed names; see test_metric_prefix.py
    assert np.isclose(VOCMetric(iou_thr=np.float32(0.75)).iou_thrs[0], 0.75)
