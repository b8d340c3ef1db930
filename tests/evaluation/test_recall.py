"""Proposal recall (``eval_recalls``) and ``CocoMetric(metric='proposal_fast')``."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mmssd.evaluation.coco_metric import CocoMetric
from mmssd.evaluation.recall import best_match_ious, eval_recalls


def test_greedy_matching_is_one_to_one():
    # both ground truths prefer proposal 0; the better pair wins, the other takes proposal 1
    ious = np.array([[0.9, 0.6], [0.8, 0.3]], dtype=np.float32)
    np.testing.assert_allclose(sorted(best_match_ious(ious)), [0.3, 0.9])
    # a single proposal serves one ground truth only
    np.testing.assert_allclose(sorted(best_match_ious(ious[:, :1])), [0.0, 0.9])


def test_recall_by_hand():
    gts = [np.array([[0, 0, 10, 10], [20, 20, 40, 40]], np.float32),
           np.array([[0, 0, 100, 100]], np.float32)]
    # image 0: the better-scored proposal is exact for gt 1, the second is half of gt 0
    # (IoU 0.5); image 1: IoU 0.81 (a 90x90 box inside the 100x100 ground truth)
    proposals = [np.array([[0, 0, 10, 5, 0.2], [20, 20, 40, 40, 0.9]], np.float32),
                 np.array([[0, 0, 90, 90, 0.5]], np.float32)]
    recalls = eval_recalls(gts, proposals, proposal_nums=(1, 2), iou_thrs=(0.5, 0.8, 0.9))
    # 1 proposal: gt1 (1.0) and image 1 (0.81) -> thresholds .5/.8 give 2/3, .9 gives 1/3
    # 2 proposals: gt0 is matched at 0.5 too -> 3/3, 2/3, 1/3
    np.testing.assert_allclose(recalls, [[2 / 3, 2 / 3, 1 / 3], [1.0, 2 / 3, 1 / 3]])


def test_eval_recalls_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match='2 images of ground truth but 1 of proposals'):
        eval_recalls([np.zeros((0, 4))] * 2, [np.zeros((0, 5))], (1,), (0.5,))


def write_coco(path, boxes_per_image):
    images, anns = [], []
    for img_id, boxes in enumerate(boxes_per_image):
        images.append({'id': img_id, 'file_name': f'{img_id}.jpg', 'height': 100, 'width': 100})
        for x1, y1, x2, y2, crowd in boxes:
            anns.append({'id': len(anns) + 1, 'image_id': img_id, 'category_id': 1,
                         'bbox': [x1, y1, x2 - x1, y2 - y1], 'area': (x2 - x1) * (y2 - y1),
                         'iscrowd': crowd})
    path.write_text(json.dumps({'images': images, 'annotations': anns,
                                'categories': [{'id': 1, 'name': 'a'}]}))
    return str(path)


def test_proposal_fast_metric(tmp_path):
    ann_file = write_coco(tmp_path / 'ann.json',
                          [[(0, 0, 10, 10, 0), (50, 50, 60, 60, 1)], [(20, 20, 40, 40, 0)]])
    metric = CocoMetric(ann_file=ann_file, metric='proposal_fast', proposal_nums=(1, 2))
    metas = [{'img_id': 0}, {'img_id': 1}]
    proposals = [np.array([[50, 50, 60, 60, 0.9], [0, 0, 10, 10, 0.1]], np.float32),
                 np.array([[20, 20, 40, 40, 0.5]], np.float32)]
    metric.process({'img_metas': metas}, proposals)
    out = metric.compute_metrics(metric.results)
    # the crowd box is not a ground truth: with 1 proposal image 0's best is the crowd box
    assert out == {'AR@1': 0.5, 'AR@2': 1.0}


def test_metric_and_results_must_agree(tmp_path):
    ann_file = write_coco(tmp_path / 'ann.json', [[(0, 0, 10, 10, 0)]])
    metric = CocoMetric(ann_file=ann_file, metric='bbox')
    metric.process({'img_metas': [{'img_id': 0}]}, [np.zeros((1, 5), np.float32)])
    with pytest.raises(ValueError, match="use metric='proposal_fast'"):
        metric.compute_metrics(metric.results)
    with pytest.raises(KeyError, match='proposal_fast'):
        CocoMetric(ann_file=ann_file, metric='segm')
