"""The --verify comparison: pairs equal detections, tolerates ties at the max_per_img cut
only, and reports every other difference."""
from __future__ import annotations

import numpy as np

from mmssd.deployment.compare import compare_detections, match_image


def dets(*rows) -> np.ndarray:
    return np.array(rows, np.float32).reshape(-1, 5)


def test_same_detections_in_another_order_pair():
    want = [dets([0, 0, 10, 10, .9], [5, 5, 20, 20, .8]), dets([1, 1, 4, 4, .7])]
    got = [dets([5, 5, 20, 20.005, .80005], [0, 0, 10, 10, .9]), dets([1, 1, 4, 4, .7])]
    report = match_image(want, got, max_per_img=10)
    assert report['ok'] and report['paired'] == 3
    assert np.isclose(report['box_diff'], 0.005, atol=1e-4)


def test_a_tie_at_the_cut_may_differ_but_nothing_else():
    # max_per_img=2: both keep two, the second place is a tie at 0.5 between two boxes
    want = [dets([0, 0, 10, 10, .9], [30, 30, 40, 40, .5])]
    got = [dets([0, 0, 10, 10, .9], [60, 60, 70, 70, .50001])]
    assert match_image(want, got, max_per_img=2)['ok']
    # not full: the same difference is a real one
    report = match_image(want, got, max_per_img=3)
    assert not report['ok'] and len(report['unpaired_expected']) == 1
    # a box off by more than 1e-2 px, a score off by more than 1e-4, another label
    for bad in ([dets([0, 0, 10, 10.02, .9])], [dets([0, 0, 10, 10, .9002])]):
        assert not match_image([dets([0, 0, 10, 10, .9])], bad, max_per_img=5)['ok']
    moved = match_image([dets([0, 0, 10, 10, .9]), dets()],
                        [dets(), dets([0, 0, 10, 10, .9])], max_per_img=5)
    assert not moved['ok'] and moved['unpaired_actual'] == [(1, [0, 0, 10, 10,
                                                                 np.float32(.9).item()])]


def test_batches_report_the_worst_image():
    good = [[dets([0, 0, 1, 1, .5])]]
    report = compare_detections(good * 2, [good[0], [dets()]], max_per_img=5)
    assert not report['ok'] and [r['ok'] for r in report['images']] == [True, False]
