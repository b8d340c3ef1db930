"""Precision-recall curves: the curves drawn are pycocotools' own precision arrays, and
CocoMetric(pr_curve_dir=...) (tools/test.py --pr-curve-dir) writes them from its evaluation."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmssd.evaluation import CocoMetric
from mmssd.visualization.pr_curve import class_pr_curves, plot_pr_curves

CATS = [{'id': 2, 'name': 'apple'}, {'id': 5, 'name': 'pear'}, {'id': 9, 'name': 'plum'}]
IMAGES = [{'id': i, 'file_name': f'{i}.jpg', 'width': 100, 'height': 80} for i in (1, 2, 3)]
GT = [(1, 2, [10, 10, 30, 20]), (1, 5, [50, 40, 20, 30]), (2, 2, [5, 5, 60, 60]),
      (2, 2, [70, 10, 20, 20]), (3, 5, [0, 0, 40, 40])]  # no plum anywhere
DETS = [(1, 2, [11, 10, 40, 31], 0.9), (1, 5, [52, 40, 70, 72], 0.8), (1, 5, [0, 0, 20, 20], 0.7),
        (2, 2, [5, 8, 60, 65], 0.95), (2, 2, [70, 10, 80, 20], 0.4), (3, 5, [2, 1, 40, 42], 0.85),
        (3, 9, [60, 40, 90, 70], 0.5)]


@pytest.fixture(scope='module')
def ann_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('pr') / 'gt.json'
    anns = [{'id': i + 1, 'image_id': im, 'category_id': c, 'bbox': b, 'area': b[2] * b[3],
             'iscrowd': 0} for i, (im, c, b) in enumerate(GT)]
    path.write_text(json.dumps({'images': IMAGES, 'annotations': anns, 'categories': CATS}))
    return str(path)


def pycocotools_eval(ann_file: str) -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
        dets = [{'image_id': im, 'category_id': c, 'score': s,
                 'bbox': [b[0], b[1], b[2] - b[0], b[3] - b[1]]} for im, c, b, s in DETS]
        ev = COCOeval(gt, gt.loadRes(dets), 'bbox')
        ev.params.maxDets = [100, 300, 1000]
        ev.evaluate()
        ev.accumulate()
    return ev


def test_curves_are_cocoeval_precision(ann_file: str):
    ev = pycocotools_eval(ann_file)
    precision, ious = ev.eval['precision'], ev.params.iouThrs
    apple = class_pr_curves(precision, ious, 0)
    assert list(apple) == ['IoU=0.50', 'IoU=0.75', 'IoU=0.50:0.95']
    np.testing.assert_array_equal(apple['IoU=0.50'], precision[0, :, 0, 0, -1])
    np.testing.assert_array_equal(apple['IoU=0.75'], precision[5, :, 0, 0, -1])
    # the curve's mean is COCO's AP of the class
    per_iou = precision[:, :, 0, 0, -1]
    assert np.nanmean(apple['IoU=0.50:0.95']) == pytest.approx(per_iou[per_iou > -1].mean())
    assert class_pr_curves(precision, ious, 2) == {}  # plum: no ground truth
    with pytest.raises(ValueError, match='precision has 3 classes but 2 class names'):
        plot_pr_curves(precision, ['a', 'b'], ious, ev.params.recThrs, 'x.png')


def test_metric_writes_curves_of_its_evaluation(ann_file: str, tmp_path: Path):
    metric = CocoMetric(classwise=True, pr_curve_dir=str(tmp_path / 'curves'))
    cat_ids = [2, 5, 9]
    metric.dataset_meta = {'classes': ('apple', 'pear', 'plum'), 'cat_ids': cat_ids,
                           'ann_file': ann_file}
    for img in (1, 2, 3):
        per_class = [np.array([b + [s] for im, c, b, s in DETS if im == img and c == cat],
                              np.float32).reshape(-1, 5) for cat in cat_ids]
        metric.process({'img_metas': [{'img_id': img}]}, [per_class])
    out = metric.evaluate(3)
    ev = pycocotools_eval(ann_file)
    assert out['bbox_mAP'] == pytest.approx(round(float(ev.eval['precision'][
        :, :, :2, 0, -1].mean()), 3), abs=1e-3)
    png = mpimg.imread(str(tmp_path / 'curves/pr_curves.png'))
    # one row of three panels (3.2 x 3.0 inches at 100 dpi), with drawn curves
    assert png.shape[:2] == (300, 960) and png[..., :3].std() > 0.05
