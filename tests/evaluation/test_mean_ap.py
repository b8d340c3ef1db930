"""eval_map: a case worked out by hand, and a plain-loop reference on random cases."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from mmssd.evaluation import average_precision, eval_map, print_map_summary
from tests.helpers.voc_cases import HAND_ANNS, HAND_AP, HAND_CURVES, HAND_DETS, ann, dets


@pytest.mark.parametrize('legacy', [False, True])
@pytest.mark.parametrize('thr, mode', list(HAND_AP))
def test_hand_built_case(thr: float, mode: str, legacy: bool):
    mean_ap, results = eval_map(HAND_DETS, HAND_ANNS, iou_thr=thr, eval_mode=mode,
                                use_legacy_coordinate=legacy, logger='silent')
    cat, empty = results
    recall, precision = HAND_CURVES[thr]
    assert (cat['num_gts'], cat['num_dets']) == (2, 5)
    np.testing.assert_allclose(cat['recall'], recall, atol=1e-6)
    np.testing.assert_allclose(cat['precision'], precision, atol=1e-6)
    assert cat['ap'] == pytest.approx(HAND_AP[thr, mode], abs=1e-6)
    # the class without gts has AP 0 and is left out of the mean
    assert (empty['num_gts'], empty['num_dets'], empty['ap']) == (0, 1, 0.0)
    assert mean_ap == pytest.approx(HAND_AP[thr, mode], abs=1e-6)


def test_difficult_box_without_labels_ignore_is_dropped():
    """As in mmdetection 2.x, ``bboxes_ignore`` counts only with ``labels_ignore``: then
    d2 is a false positive: precision 1, 1/2, 1/3, 1/4, 2/5 -> area AP 1/2 + 1/2 * 2/5."""
    anns = [ann([[0, 0, 10, 10]], [0], [[40, 0, 50, 10]]), *HAND_ANNS[1:]]
    _, (cat, _) = eval_map(HAND_DETS, anns, logger='silent')
    np.testing.assert_allclose(cat['precision'], [1, 1 / 2, 1 / 3, 1 / 4, 2 / 5])
    assert cat['ap'] == pytest.approx(1 / 2 + 1 / 5)


def test_scale_ranges_count_and_skip_by_area():
    """Sides [0, 10) hold no gt (all are 10 x 10): mAP 0; [10, 100) hold everything."""
    mean_ap, (cat, _) = eval_map(HAND_DETS, HAND_ANNS, scale_ranges=[(0, 10), (10, 100)],
                                 logger='silent')
    assert mean_ap == pytest.approx([0.0, 3 / 4])
    np.testing.assert_array_equal(cat['num_gts'], [0, 2])
    assert cat['recall'].shape == cat['precision'].shape == (2, 5)


def test_eleven_points_keeps_mmdetection_thresholds():
    """The thresholds are np.arange(0, 1.001, 0.1): 0.3 is 0.30000000000000004, so a
    recall of exactly 0.3 only reaches t = 0, 0.1, 0.2 -> AP 3/11 (as mmdetection)."""
    assert average_precision(np.array([0.3]), np.array([1.0]), '11points') == \
        pytest.approx(3 / 11)
    assert average_precision(np.array([0.5]), np.array([1.0]), '11points') == \
        pytest.approx(6 / 11)
    assert average_precision(np.array([0.5]), np.array([1.0]), 'area') == pytest.approx(0.5)
    assert average_precision(np.zeros(0), np.zeros(0), '11points') == 0.0


def test_summary_table(capsys):
    mean_ap, results = eval_map(HAND_DETS, HAND_ANNS, logger='silent')
    print_map_summary(mean_ap, results, dataset=('cat', 'dog'))
    table = capsys.readouterr().out
    assert '| class | gts | dets | recall | ap    |' in table
    assert '| cat   | 2   | 5    | 1.000  | 0.750 |' in table
    assert '| dog   | 0   | 1    | 0.000  | 0.000 |' in table
    assert '| mAP   |     |      |        | 0.750 |' in table


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match='eval_mode'):
        eval_map(HAND_DETS, HAND_ANNS, eval_mode='12points')
    with pytest.raises(ValueError, match='3 detection results but 2 annotations'):
        eval_map(HAND_DETS, HAND_ANNS[:2])
    with pytest.raises(ValueError, match=r'gt labels \[0, 5\]'):
        eval_map(HAND_DETS[:1], [ann([[0, 0, 1, 1], [0, 0, 2, 2]], [0, 5])])
    with pytest.raises(ValueError, match='image 1 has detections for 1 classes'):
        eval_map([HAND_DETS[0], [dets()]], HAND_ANNS[:2])


# --------------------------------------------------------------------------- reference
def ref_area(box, one: int) -> float:
    return (box[2] - box[0] + one) * (box[3] - box[1] + one)


def ref_iou(a, b, one: int) -> Fraction:
    """Exact IoU of two boxes with integer coordinates."""
    w = min(a[2], b[2]) - max(a[0], b[0]) + one
    h = min(a[3], b[3]) - max(a[1], b[1]) + one
    if w <= 0 or h <= 0:
        return Fraction(0)
    inter = w * h
    return Fraction(inter) / Fraction(ref_area(a, one) + ref_area(b, one) - inter)


def ref_ap(recalls: list[float], precisions: list[float], mode: str) -> float:
    if mode == '11points':
        total = 0.0
        for i in range(11):
            t = i * 0.1  # the same floats as mmdetection's np.arange thresholds
            total += max([p for r, p in zip(recalls, precisions) if r >= t], default=0.0)
        return total / 11
    ap, previous = 0.0, 0.0
    for level in sorted(set(recalls)):
        if level > previous:
            ap += (level - previous) * max(p for r, p in zip(recalls, precisions)
                                           if r >= level)
            previous = level
    return ap


def reference_eval(det_results, annotations, iou_thr, mode, legacy, area_range=None):
    """VOC devkit style: per class, all detections sorted by score, each one looks for
    its best gt in its own image. Returns (mean AP, per class (npos, ndet, rec, prec, ap)).
    """
    one = 1 if legacy else 0
    lo, hi = area_range if area_range else (-np.inf, np.inf)
    thr = Fraction(iou_thr)
    per_class = []
    for cls in range(len(det_results[0])):
        gts = []  # per image: list of [box, skipped, taken]
        for a in annotations:
            boxes = [(b, False) for b, lab in zip(a['bboxes'].tolist(), a['labels'].tolist())
                     if lab == cls]
            if 'labels_ignore' in a:
                boxes += [(b, True) for b, lab in zip(a['bboxes_ignore'].tolist(),
                                                      a['labels_ignore'].tolist()) if lab == cls]
            gts.append([[b, ign or not lo <= ref_area(b, one) < hi, False] for b, ign in boxes])
        npos = sum(not g[1] for image in gts for g in image)
        found = [(row[4], img, row[:4]) for img, res in enumerate(det_results)
                 for row in res[cls].tolist()]
        found.sort(key=lambda f: -f[0])
        tp = fp = 0
        recalls, precisions = [], []
        for _, img, box in found:
            best, best_gt = Fraction(-1), None
            for g in gts[img]:
                overlap = ref_iou(box, g[0], one)
                if overlap > best:
                    best, best_gt = overlap, g
            if best_gt is not None and best >= thr:
                if not best_gt[1]:
                    if best_gt[2]:
                        fp += 1
                    else:
                        best_gt[2] = True
                        tp += 1
            elif lo <= ref_area(box, one) < hi:
                fp += 1
            recalls.append(tp / npos if npos else 0.0)
            precisions.append(tp / (tp + fp) if tp + fp else 0.0)
        per_class.append((npos, len(found), recalls, precisions,
                          ref_ap(recalls, precisions, mode)))
    aps = [c[4] for c in per_class if c[0] > 0]
    return (sum(aps) / len(aps) if aps else 0.0), per_class


def random_box(rng: np.random.Generator) -> list[int]:
    x, y = rng.integers(0, 60, size=2)
    w, h = rng.integers(2, 30, size=2)
    return [int(x), int(y), int(x + w), int(y + h)]


def jittered(rng: np.random.Generator, box: list[int]) -> list[int]:
    """``box`` moved a little (mostly a hit) or a lot (mostly a miss)."""
    side = min(box[2] - box[0], box[3] - box[1])
    reach = max(1, side // (2 if rng.random() < 0.3 else 6))
    x1, y1, x2, y2 = (v + int(d) for v, d in zip(box, rng.integers(-reach, reach + 1, 4)))
    return [x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)]


def random_case(seed: int, num_imgs: int = 25, num_classes: int = 4):
    """Images with and without gts, difficult boxes (with and without labels_ignore),
    images without detections, duplicates and misses; all scores distinct."""
    rng = np.random.default_rng(seed)
    scores = iter(rng.permutation(100_000)[:5_000] / 100_000 + 1e-3)
    det_results, annotations = [], []
    for _ in range(num_imgs):
        n_gt, n_ign = rng.integers(0, 5), rng.integers(0, 3)
        boxes = [random_box(rng) for _ in range(n_gt + n_ign)]
        labels = rng.integers(0, num_classes, size=n_gt + n_ign)
        a = ann(boxes[:n_gt], labels[:n_gt], boxes[n_gt:],
                labels[n_gt:] if rng.random() < 0.8 else None)
        per_class = [[] for _ in range(num_classes)]
        if rng.random() > 0.15:  # some images have no detections
            for box, label in zip(boxes, labels):
                for _ in range(rng.integers(0, 3)):  # misses, hits and duplicates
                    cls = label if rng.random() < 0.8 else rng.integers(num_classes)
                    per_class[cls].append(jittered(rng, box) + [next(scores)])
            for _ in range(rng.integers(0, 4)):
                per_class[rng.integers(num_classes)].append(random_box(rng) + [next(scores)])
        det_results.append([dets(*rows) for rows in per_class])
        annotations.append(a)
    return det_results, annotations


@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('thr', [0.3, 0.5, 0.75])
@pytest.mark.parametrize('mode', ['area', '11points'])
def test_matches_reference_on_random_cases(seed: int, thr: float, mode: str):
    det_results, annotations = random_case(seed)
    legacy = seed % 2 == 1
    mean_ap, results = eval_map(det_results, annotations, iou_thr=thr, eval_mode=mode,
                                use_legacy_coordinate=legacy, logger='silent')
    ref_mean, ref_classes = reference_eval(det_results, annotations, thr, mode, legacy)
    assert mean_ap == pytest.approx(ref_mean, abs=1e-9)
    for res, (npos, ndet, recalls, precisions, ap) in zip(results, ref_classes):
        assert (res['num_gts'], res['num_dets']) == (npos, ndet)
        np.testing.assert_allclose(res['recall'], recalls, atol=1e-12)
        np.testing.assert_allclose(res['precision'], precisions, atol=1e-12)
        assert res['ap'] == pytest.approx(ap, abs=1e-9)
    assert 0 < mean_ap < 1


@pytest.mark.parametrize('seed', range(3))
def test_scale_ranges_match_reference(seed: int):
    det_results, annotations = random_case(seed + 10)
    ranges = [(0, 12), (12, 20), (20, 1e5)]
    mean_aps, results = eval_map(det_results, annotations, scale_ranges=ranges,
                                 use_legacy_coordinate=True, logger='silent')
    for s, (lo, hi) in enumerate(ranges):
        ref_mean, ref_classes = reference_eval(det_results, annotations, 0.5, 'area', True,
                                               (lo ** 2, hi ** 2))
        assert mean_aps[s] == pytest.approx(ref_mean, abs=1e-9)
        for res, (npos, _, recalls, precisions, ap) in zip(results, ref_classes):
            assert res['num_gts'][s] == npos
            np.testing.assert_allclose(res['recall'][s], recalls, atol=1e-12)
            np.testing.assert_allclose(res['precision'][s], precisions, atol=1e-12)
            assert res['ap'][s] == pytest.approx(ap, abs=1e-9)
