"""CocoMetric against pycocotools COCOeval run directly on the same data."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmssd.evaluation import CocoMetric, results2json
from mmssd.registry import METRICS

CATS = [{'id': 2, 'name': 'apple'}, {'id': 5, 'name': 'pear'}, {'id': 9, 'name': 'plum'}]
IMAGES = [{'id': i, 'file_name': f'{i}.jpg', 'width': 100, 'height': 80} for i in (10, 11, 12, 13)]
# (image_id, category_id, [x, y, w, h]); image 13 has no objects
GT = [(10, 2, [10, 10, 30, 20]), (10, 5, [50, 40, 20, 30]), (11, 2, [5, 5, 60, 60]),
      (11, 2, [70, 10, 20, 20]), (12, 5, [0, 0, 40, 40]), (12, 9, [60, 40, 30, 30]),
      (12, 2, [40, 50, 8, 8])]
# (image_id, category_id, [x1, y1, x2, y2], score): hits, near misses, false positives
DETS = [(10, 2, [11, 10, 40, 31], 0.9), (10, 5, [52, 40, 70, 72], 0.8),
        (10, 5, [0, 0, 20, 20], 0.7), (11, 2, [5, 8, 60, 65], 0.95),
        (11, 2, [70, 10, 80, 20], 0.4), (11, 5, [70, 10, 90, 30], 0.6),
        (12, 5, [2, 1, 40, 42], 0.85), (12, 9, [60, 40, 90, 70], 0.5),
        (12, 2, [41, 50, 49, 58], 0.3), (13, 2, [10, 10, 50, 50], 0.65)]


@pytest.fixture(scope='module')
def ann_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('gt') / 'gt.json'
    anns = [{'id': i + 1, 'image_id': im, 'category_id': c, 'bbox': b, 'area': b[2] * b[3],
             'iscrowd': 0} for i, (im, c, b) in enumerate(GT)]
    path.write_text(json.dumps({'images': IMAGES, 'annotations': anns, 'categories': CATS}))
    return str(path)


def per_class_results(cat_ids: list[int], img_ids=(10, 11, 12, 13)) -> list[list[np.ndarray]]:
    """Per image, per label (label -> cat_ids[label]) (n, 5) arrays of DETS."""
    out = []
    for img_id in img_ids:
        dets = []
        for cat_id in cat_ids:
            rows = [b + [s] for im, c, b, s in DETS if im == img_id and c == cat_id]
            dets.append(np.array(rows, np.float32).reshape(-1, 5))
        out.append(dets)
    return out


def direct_stats(ann_file: str, cat_ids: list[int], img_ids=(10, 11, 12, 13)) -> np.ndarray:
    """COCOeval stats computed straight from DETS, without mmssd."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
        dets = [{'image_id': im, 'category_id': c, 'score': s,
                 'bbox': [b[0], b[1], b[2] - b[0], b[3] - b[1]]}
                for im, c, b, s in DETS if c in cat_ids and im in img_ids]
        ev = COCOeval(gt, gt.loadRes(dets), 'bbox')
        ev.params.catIds = cat_ids
        ev.params.imgIds = list(img_ids)
        ev.params.maxDets = [100, 300, 1000]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def run_metric(metric: CocoMetric, cat_ids: list[int], classes: tuple, ann_file: str,
               img_ids=(10, 11, 12, 13), nested: bool = False) -> dict:
    metric.dataset_meta = {'classes': classes, 'cat_ids': cat_ids, 'ann_file': ann_file}
    results = per_class_results(cat_ids, img_ids)
    for start in range(0, len(img_ids), 3):  # batches of 3 and 1
        metas = [{'img_id': i} for i in img_ids[start:start + 3]]
        batch = {'img_metas': [metas] if nested else metas}
        metric.process(batch, results[start:start + 3])
    return metric.evaluate(len(img_ids))


KEYS = ['bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s', 'bbox_mAP_m', 'bbox_mAP_l']


def test_matches_pycocotools_all_classes(ann_file: str):
    metric = METRICS.build({'type': 'CocoMetric'})
    out = run_metric(metric, [2, 5, 9], ('apple', 'pear', 'plum'), ann_file)
    stats = direct_stats(ann_file, [2, 5, 9])
    assert list(out) == KEYS
    for key, value in zip(KEYS, stats[:6], strict=True):
        assert out[key] == pytest.approx(round(float(value), 3), abs=1e-9), key
    assert 0 < out['bbox_mAP'] < 1  # the set has false positives and misses


def test_subset_classes_labels_map_to_cat_ids(ann_file: str):
    """labels 0, 1 are 'plum' (9) and 'apple' (2): results must go to the right ids."""
    metric = CocoMetric(ann_file=ann_file, classwise=True)
    out = run_metric(metric, [9, 2], ('plum', 'apple'), ann_file, nested=True)
    stats = direct_stats(ann_file, [9, 2])
    for key, value in zip(KEYS, stats[:6], strict=True):
        assert out[key] == pytest.approx(round(float(value), 3), abs=1e-9), key
    assert set(out) == set(KEYS) | {'bbox_plum_precision', 'bbox_apple_precision'}
    assert out['bbox_plum_precision'] == pytest.approx(1.0)  # one perfect plum
    assert 0 < out['bbox_apple_precision'] < 1


def test_evaluates_only_the_images_seen(ann_file: str):
    metric = CocoMetric()
    out = run_metric(metric, [2, 5, 9], ('apple', 'pear', 'plum'), ann_file, img_ids=(10, 12))
    stats = direct_stats(ann_file, [2, 5, 9], img_ids=(10, 12))
    assert out['bbox_mAP'] == pytest.approx(round(float(stats[0]), 3))


def test_json_written_and_format_only(ann_file: str, tmp_path: Path):
    prefix = tmp_path / 'out' / 'res'
    metric = CocoMetric(jsonfile_prefix=str(prefix), format_only=True)
    assert run_metric(metric, [9, 2], ('plum', 'apple'), ann_file) == {}
    dets = json.loads(Path(f'{prefix}.bbox.json').read_text())
    assert {d['category_id'] for d in dets} == {9, 2}
    assert {'image_id': 10, 'bbox': [11.0, 10.0, 29.0, 21.0], 'score': pytest.approx(0.9),
            'category_id': 2} in dets


def test_no_detections_gives_zeros(ann_file: str):
    metric = CocoMetric(classwise=True)
    metric.dataset_meta = {'classes': ('apple', 'pear', 'plum'), 'cat_ids': [2, 5, 9],
                           'ann_file': ann_file}
    empty = [np.zeros((0, 5), np.float32)] * 3
    metric.process({'img_metas': [{'img_id': 10}, {'img_id': 11}]}, [empty, empty])
    out = metric.evaluate(2)
    # images 10 and 11 hold no plum: its AP cannot be scored (nan), as with detections
    assert np.isnan(out.pop('bbox_plum_precision'))
    assert all(v == 0.0 for v in out.values()) and 'bbox_mAP' in out
    assert 'bbox_pear_precision' in out


def test_results2json_converts_xyxy_and_labels():
    dets = results2json([(7, [np.zeros((0, 5)), np.array([[1, 2, 4, 8, 0.5]])])], [3, 8])
    assert dets == [{'image_id': 7, 'bbox': [1.0, 2.0, 3.0, 6.0], 'score': 0.5,
                     'category_id': 8}]
    with pytest.raises(ValueError, match='category ids'):
        results2json([(7, [np.zeros((0, 5))] * 3)], [3, 8])


def test_bad_arguments_are_named():
    with pytest.raises(KeyError, match='segm'):
        CocoMetric(metric=['bbox', 'segm'])
    with pytest.raises(ValueError, match='jsonfile_prefix'):
        CocoMetric(format_only=True)
    with pytest.raises(KeyError, match='mAP_xl'):
        CocoMetric(metric_items=['mAP_xl'])
    assert CocoMetric.default_prefix == ''  # unprefixed names; see test_metric_prefix.py


# --------------------------------------------------------------------------- random set
ALL_ITEMS = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR@100', 'AR@300',
             'AR@1000', 'AR_s@1000', 'AR_m@1000', 'AR_l@1000']
RANDOM_CATS = [{'id': c, 'name': f'c{c}'} for c in (1, 3, 7, 8)]
SIDES = ((4, 30), (32, 90), (100, 300))  # small, medium and large boxes


def random_coco(seed: int, num_imgs: int = 8) -> tuple[dict, list[tuple]]:
    """A COCO gt dict (crowd boxes, areas of every range, an image without objects) and
    ``(image_id, category_id, [x1, y1, x2, y2], score)`` detections: jittered gts,
    duplicates and random boxes; more than 100 of one category on some images, so that
    COCOeval's per-image-and-category cap makes AR@100 < AR@300."""
    rng = np.random.default_rng(seed)
    images = [{'id': 100 + i, 'file_name': f'{i}.jpg', 'width': 640, 'height': 480}
              for i in range(num_imgs)]
    anns, found = [], []

    def box(lo: int, hi: int) -> list[float]:
        w, h = (float(v) for v in rng.integers(lo, hi, size=2) + 0.5)
        x, y = float(rng.integers(0, 640 - w)), float(rng.integers(0, 480 - h))
        return [x, y, w, h]

    cat_ids = [c['id'] for c in RANDOM_CATS]
    for img in images[1:]:  # the first image has no objects
        heavy = img['id'] % 3 == 0  # cluttered: its first 5 objects share a category
        for k in range(rng.integers(1, 12) + 5 * heavy):
            cat = int(rng.choice(cat_ids[:1] if heavy and k < 5 else cat_ids))
            xywh = box(*SIDES[rng.integers(3)])
            crowd = int(rng.random() < 0.15)
            anns.append({'id': len(anns) + 1, 'image_id': img['id'], 'category_id': cat,
                         'bbox': xywh, 'area': xywh[2] * xywh[3] * 0.8, 'iscrowd': crowd})
            for _ in range(rng.integers(0, 3)):  # hits, near misses and duplicates
                noise = rng.normal(0, 0.1, 4) * np.array(xywh[2:] * 2)  # ~10% of w, h
                x, y, w, h = (v + float(d) for v, d in zip(xywh, noise))
                found.append((img['id'], cat, [x, y, x + max(w, 1), y + max(h, 1)]))
    for img in images:
        # clutter: 150+ boxes of the first category on the cluttered images
        heavy = img['id'] % 3 == 0
        cats = cat_ids[:1] if heavy else cat_ids
        for _ in range(rng.integers(150, 250) if heavy else rng.integers(0, 20)):
            x, y, w, h = box(*SIDES[rng.integers(3)])
            found.append((img['id'], int(rng.choice(cats)), [x, y, x + w, y + h]))
    # float32 values, as the metric stores them, so both sides see the same numbers
    dets = [(im, c, np.float32(b).tolist(), float(np.float32(rng.random())))
            for im, c, b in found]
    return {'images': images, 'annotations': anns, 'categories': RANDOM_CATS}, dets


@pytest.mark.parametrize('seed', [0, 1])
def test_random_set_all_stats_match_pycocotools(tmp_path: Path, seed: int):
    gt, found = random_coco(seed)
    ann_path = tmp_path / 'gt.json'
    ann_path.write_text(json.dumps(gt))
    cat_ids = [c['id'] for c in RANDOM_CATS]
    img_ids = [im['id'] for im in gt['images']]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(ann_path))
        ev = COCOeval(coco, coco.loadRes([
            {'image_id': im, 'category_id': c, 'score': s,
             'bbox': [b[0], b[1], b[2] - b[0], b[3] - b[1]]} for im, c, b, s in found]), 'bbox')
        ev.params.maxDets = [100, 300, 1000]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[6] < ev.stats[7]  # some images have more than 100 detections
    per_image = [[np.array([b + [s] for im, c, b, s in found if im == img_id and c == cat],
                           np.float32).reshape(-1, 5) for cat in cat_ids] for img_id in img_ids]
    meta = {'classes': tuple(c['name'] for c in RANDOM_CATS), 'cat_ids': cat_ids,
            'ann_file': str(ann_path)}
    outputs = {}
    for items in (None, ALL_ITEMS):
        metric = CocoMetric(metric_items=items)
        metric.dataset_meta = meta
        for start in range(0, len(img_ids), 3):
            metric.process({'img_metas': [{'img_id': i} for i in img_ids[start:start + 3]]},
                           per_image[start:start + 3])
        outputs[items is None] = metric.evaluate(len(img_ids))
    assert list(outputs[True]) == KEYS
    assert list(outputs[False]) == [f'bbox_{item}' for item in ALL_ITEMS]
    for i, item in enumerate(ALL_ITEMS):
        expected = round(float(ev.stats[i]), 3)
        assert outputs[False][f'bbox_{item}'] == pytest.approx(expected, abs=1e-9), item
        if i < 6:
            assert outputs[True][f'bbox_{item}'] == pytest.approx(expected, abs=1e-9), item
