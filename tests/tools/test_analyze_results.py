"""tools/analysis_tools/analyze_results.py: images ranked by their own mAP (values worked out
by hand), the best and worst drawn with ground truth and predictions."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import cv2
import numpy as np

from mmssd.evaluation.offline_eval import image_map
from tests.helpers.detections import demo_split
from tests.helpers.tools import REPO, load_tool

CONFIG = str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py')


def test_image_map_by_hand():
    ann = {'bboxes': np.array([[0, 0, 10, 10], [20, 20, 40, 40]], np.float32),
           'labels': np.array([0, 0])}
    empty = np.zeros((0, 5), np.float32)
    found_one = [np.array([[0, 0, 10, 10, 0.9]], np.float32), empty]
    assert image_map(found_one, ann) == 0.5  # recall 1/2 at precision 1, at every IoU
    # the best box has IoU 100/160 with the first: it matches at IoU 0.50, 0.55 and 0.60
    # (AP 1); at the 7 higher thresholds it is a false positive ranked before the exact
    # second box: recall 1/2 reached at precision 1/2, AP 0.25
    shifted = [np.array([[0, 0, 10, 16, 0.9], [20, 20, 40, 40, 0.8]], np.float32), empty]
    assert abs(image_map(shifted, ann) - (3 * 1.0 + 7 * 0.25) / 10) < 1e-6
    no_gt = {'bboxes': np.zeros((0, 4), np.float32), 'labels': np.zeros(0, np.int64)}
    assert image_map([empty, empty], no_gt) == 1.0
    assert image_map(found_one, no_gt) == 0.0


def test_best_and_worst_images_drawn(tmp_path: Path, capsys):
    ann_file, img_prefix = demo_split(tmp_path / 'demo', num_val=6)
    coco = json.loads(ann_file.read_text())
    results = []
    for k, img in enumerate(coco['images']):  # even images found exactly, odd ones missed
        per_class = [np.zeros((0, 5), np.float32) for _ in range(5)]
        for ann in coco['annotations']:
            if ann['image_id'] == img['id'] and k % 2 == 0:
                x, y, w, h = ann['bbox']
                label = ann['category_id'] - 1
                per_class[label] = np.vstack([per_class[label], [x, y, x + w, y + h, 0.9]])
        results.append([p.astype(np.float32) for p in per_class])
    pkl = tmp_path / 'results.pkl'
    pkl.write_bytes(pickle.dumps(results))
    out = tmp_path / 'analysis'
    drawn = load_tool('tools/analysis_tools/analyze_results.py').main(
        [CONFIG, str(pkl), str(out), '--topk', '3', '--cfg-options',
         f'data.test.ann_file={ann_file}', f'data.test.img_prefix={img_prefix}/'])
    names = [img['file_name'] for img in coco['images']]
    assert drawn['good'] == [(names[k], 1.0) for k in (0, 2, 4)]
    assert drawn['bad'] == [(names[k], 0.0) for k in (1, 3, 5)]
    assert 'mean per-image mAP 0.500 over 6 images' in capsys.readouterr().out
    good = out / 'good' / f'{Path(names[0]).stem}_1.000.png'
    bad = out / 'bad' / f'{Path(names[1]).stem}_0.000.png'
    original = cv2.imread(str(img_prefix / names[0]))
    drawn_good = cv2.imread(str(good))
    assert drawn_good.shape == original.shape and (drawn_good != original).any()
    # the missed image carries only the white ground-truth boxes
    drawn_bad = cv2.imread(str(bad)).astype(int)
    changed = (drawn_bad != cv2.imread(str(img_prefix / names[1])).astype(int)).any(axis=2)
    assert changed.any() and (drawn_bad[changed] == 255).all()
