"""demo/image_demo.py on the shipped image with a demo-trained checkpoint.

The checkpoint comes from the session fixture ``demo_run`` (tests/conftest.py). The test
checks the saved PNG: same size as the input, every ground-truth object matched by a
drawn prediction of its class, and every changed pixel on a predicted box's outline or
on its label.
"""
from __future__ import annotations

import json
from pathlib import Path

import mmcv
import numpy as np
import pytest

from mmssd.apis import inference_detector, init_detector
from mmssd.visualization import class_palette, label_rect, label_text
from tests.helpers.tools import REPO, run_tool

SCORE_THR = 0.5
THICKNESS = 2  # draw_boxes' default line width
FONT_SCALE = 0.45  # draw_boxes' default

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures('torch_single_thread')]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two ``[x1, y1, x2, y2]`` boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_shipped_demo_image_matches_its_generator_annotation():
    ann = json.loads((REPO / 'demo/demo.json').read_text())
    img = mmcv.imread(str(REPO / 'demo/demo.jpg'))
    assert img.shape[:2] == (ann['images'][0]['height'], ann['images'][0]['width'])
    assert len(ann['annotations']) == 3


def test_image_demo_boxes_the_objects(demo_run, tmp_path: Path):
    out_file = tmp_path / 'result.png'
    run = run_tool(['demo/image_demo.py', demo_run.image, demo_run.config, demo_run.checkpoint,
                    '--out-file', out_file, '--score-thr', str(SCORE_THR), '--device', 'cpu'])
    assert out_file.is_file()
    source = mmcv.imread(str(demo_run.image))
    drawn = mmcv.imread(str(out_file))
    assert drawn.shape == source.shape

    model = init_detector(str(demo_run.config), str(demo_run.checkpoint))
    result = inference_detector(model, str(demo_run.image))
    preds = [(label, det) for label, dets in enumerate(result) for det in dets
             if det[4] >= SCORE_THR]
    assert f'{len(preds)} detections' in run.stdout

    # every ground-truth object is found, with its class
    ann = json.loads(demo_run.ann_file.read_text())
    for obj in ann['annotations']:
        x, y, w, h = obj['bbox']
        gt = np.array([x, y, x + w, y + h], np.float32)
        label = obj['category_id'] - 1
        assert any(lb == label and iou(gt, det[:4]) >= 0.5 for lb, det in preds), \
            (obj, preds)

    # changed pixels lie on the predicted boxes' outlines or labels, nowhere else
    height, width = source.shape[:2]
    allowed = np.zeros((height, width), bool)
    palette = class_palette(len(model.CLASSES))
    for label, det in preds:
        x1, y1, x2, y2 = (int(round(v)) for v in det[:4])
        outer = np.zeros_like(allowed)
        outer[max(y1 - THICKNESS, 0):y2 + THICKNESS + 1,
              max(x1 - THICKNESS, 0):x2 + THICKNESS + 1] = True
        inner = np.zeros_like(allowed)
        inner[y1 + THICKNESS:max(y2 - THICKNESS + 1, 0),
              x1 + THICKNESS:max(x2 - THICKNESS + 1, 0)] = True
        allowed |= outer & ~inner
        left, top, right, bottom = label_rect(
            label_text(model.CLASSES, label, float(det[4])), x1, y1, width, FONT_SCALE)
        allowed[max(top, 0):bottom + 1, max(left, 0):right + 1] = True
        # the bottom edge (never under a label) is in the class colour
        edge = drawn[min(y2, height - 1), x1 + THICKNESS:x2 - THICKNESS]
        assert (edge == palette[label]).all(axis=-1).mean() > 0.8, (label, det)
    changed = (drawn != source).any(axis=-1)
    assert changed.sum() > 0
    assert not (changed & ~allowed).any(), np.argwhere(changed & ~allowed)[:10]
