"""CocoMetric on ground truth that cannot score everything: a test set without annotations,
a class absent from the evaluated images, annotation ids counted from 0."""
from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmssd.evaluation import CocoMetric
from mmssd.evaluation import coco_metric as coco_metric_module
from mmssd.evaluation.ground_truth import NO_GT_CELL

CATS = [{'id': 0, 'name': 'General trash'}, {'id': 1, 'name': 'Paper'},
        {'id': 2, 'name': 'Battery'}]
IMAGES = [{'id': i, 'file_name': f'test/{i:04d}.jpg', 'width': 100, 'height': 80}
          for i in range(3)]  # ids from 0, as competition files have them
# (image_id, category_id, [x, y, w, h]); no 'Battery' anywhere
GT = [(0, 0, [10, 10, 30, 20]), (0, 1, [50, 40, 20, 30]), (1, 0, [5, 5, 60, 60]),
      (2, 1, [0, 0, 40, 40])]


def write(path: Path, annotations: list[dict] | None) -> str:
    data = {'images': IMAGES, 'categories': CATS}
    if annotations is not None:
        data['annotations'] = annotations
    path.write_text(json.dumps(data))
    return str(path)


def gt_annotations() -> list[dict]:
    return [{'id': i, 'image_id': im, 'category_id': c, 'bbox': b, 'area': b[2] * b[3],
             'iscrowd': 0} for i, (im, c, b) in enumerate(GT)]  # annotation ids from 0 too


def run(metric: CocoMetric, ann_file: str, per_image: list[list[np.ndarray]]) -> dict:
    metric.dataset_meta = {'classes': tuple(c['name'] for c in CATS), 'cat_ids': [0, 1, 2],
                           'ann_file': ann_file}
    metric.process({'img_metas': [{'img_id': i} for i in range(3)]}, per_image)
    return metric.evaluate(3)


def detections(boxes: list[tuple[int, int, list[float], float]]) -> list[list[np.ndarray]]:
    """Per image, per label (n, 5) arrays of ``(image, label, [x, y, w, h], score)``."""
    return [[np.array([[b[0], b[1], b[0] + b[2], b[1] + b[3], s]
                       for im, c, b, s in boxes if im == img and c == label],
                      np.float32).reshape(-1, 5) for label in range(3)] for img in range(3)]


@pytest.fixture
def logged(monkeypatch) -> list[str]:
    messages: list[str] = []
    monkeypatch.setattr(coco_metric_module, 'print_log',
                        lambda msg, *args, **kwargs: messages.append(msg))
    return messages


def test_annotation_id_zero_is_matched(tmp_path: Path, logged: list[str]):
    """Perfect detections score AP 1; pycocotools alone loses the box with annotation id 0."""
    ann_file = write(tmp_path / 'val.json', gt_annotations())
    perfect = [(im, c, b, 0.9) for im, c, b in GT]
    out = run(CocoMetric(classwise=True), ann_file, detections(perfect))
    assert out['bbox_mAP'] == 1.0 and out['bbox_mAP_50'] == 1.0
    assert out['bbox_General trash_precision'] == 1.0 and out['bbox_Paper_precision'] == 1.0
    with contextlib.redirect_stdout(io.StringIO()):  # the defect worked around
        gt = COCO(ann_file)
        ev = COCOeval(gt, gt.loadRes([{'image_id': im, 'category_id': c, 'bbox': b,
                                       'score': 0.9} for im, c, b in GT]), 'bbox')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[1] < 1.0


def test_class_without_ground_truth_is_named(tmp_path: Path, logged: list[str]):
    ann_file = write(tmp_path / 'val0.json', gt_annotations())
    dets = [(0, 0, [10, 10, 30, 20], 0.9), (0, 1, [50, 40, 20, 30], 0.8),
            (1, 0, [5, 5, 30, 60], 0.7), (2, 2, [0, 0, 40, 40], 0.6)]
    out = run(CocoMetric(classwise=True), ann_file, detections(dets))
    warning = [m for m in logged if 'no ground truth for classes' in m]
    assert len(warning) == 1 and "['Battery']" in warning[0] and 'other 2 classes' in warning[0]
    table = next(m for m in logged if 'category' in m and 'AP' in m)
    assert re.search(r'\| Battery +\| ' + re.escape(NO_GT_CELL) + r' +\|', table), table
    assert np.isnan(out['bbox_Battery_precision'])
    # mAP is the mean over the two scored classes
    assert out['bbox_mAP'] == pytest.approx(
        (out['bbox_General trash_precision'] + out['bbox_Paper_precision']) / 2, abs=2e-3)


@pytest.mark.parametrize('annotations', [None, []], ids=['no_key', 'empty_list'])
def test_test_set_without_annotations(tmp_path: Path, annotations, logged: list[str]):
    ann_file = write(tmp_path / 'test.json', annotations)
    dets = detections([(0, 0, [10, 10, 30, 20], 0.9), (2, 2, [1, 2, 3, 4], 0.5)])
    with pytest.raises(ValueError, match='test.json has no ground truth: no annotations for the '
                                         '3 evaluated images .* --format-only'):
        run(CocoMetric(), ann_file, dets)
    prefix = tmp_path / 'submission'
    assert run(CocoMetric(format_only=True, jsonfile_prefix=str(prefix)), ann_file, dets) == {}
    written = json.loads(Path(f'{prefix}.bbox.json').read_text())
    assert written == [
        {'image_id': 0, 'bbox': [10.0, 10.0, 30.0, 20.0], 'score': pytest.approx(0.9),
         'category_id': 0},
        {'image_id': 2, 'bbox': [1.0, 2.0, 3.0, 4.0], 'score': pytest.approx(0.5),
         'category_id': 2}]
