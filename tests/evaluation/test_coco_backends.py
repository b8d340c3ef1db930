"""faster-coco-eval gives pycocotools' numbers: the real libraries on the same detections."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mmssd.evaluation import CocoMetric
from mmssd.evaluation.coco_backends import coco_api, make_coco_eval, summarize
from mmssd.evaluation.coco_metric import COCO_METRIC_NAMES
from mmssd.evaluation.results2json import results2json
from tests.helpers.benchmarks import load_benchmark

bench_evaluation = load_benchmark('bench_evaluation')
COCO_CAT_IDS = bench_evaluation.COCO_CAT_IDS
synthetic_dataset, write_coco_json = (bench_evaluation.synthetic_dataset,
                                      bench_evaluation.write_coco_json)

NUM_IMAGES = 60


@pytest.fixture(scope='module')
def coco_case(tmp_path_factory) -> dict[str, tuple[Path, list]]:
    """Ground-truth json and results of two cases: 80 classes with 100 detections per
    image, and one class with 200 per image (a second draw's detections added: more than
    pycocotools' first AP summary, at maxDets=100, keeps)."""
    root = tmp_path_factory.mktemp('coco_backends')
    cases = {}
    for name, num_classes in (('80 classes', len(COCO_CAT_IDS)), ('200 per class', 1)):
        data = synthetic_dataset(NUM_IMAGES, num_classes, seed=3)
        write_coco_json(data, root / f'{num_classes}.json')
        results = [(i + 1, dets) for i, (_, _, dets) in enumerate(data)]
        if num_classes == 1:
            extra = synthetic_dataset(NUM_IMAGES, 1, seed=4)
            results = [(img_id, [np.concatenate([dets[0], other[0]])])
                       for (img_id, dets), (_, _, other) in zip(results, extra, strict=True)]
        cases[name] = (root / f'{num_classes}.json', results)
    return cases


def evaluate(backend: str, ann_file: Path, results: list) -> tuple[np.ndarray, dict]:
    """pycocotools-layout stats (12,) and the ``eval`` arrays of one backend."""
    coco_cls, _ = coco_api(backend)
    gt = coco_cls(str(ann_file))
    dt = gt.loadRes(results2json(results, COCO_CAT_IDS))
    coco_eval = make_coco_eval(backend, gt, dt)
    coco_eval.params.maxDets = [100, 300, 1000]
    coco_eval.evaluate()
    coco_eval.accumulate()
    stats, text = summarize(coco_eval, backend)
    assert text.count('Average Precision') == 6 and text.count('Average Recall') == 6
    return stats, coco_eval.eval


@pytest.mark.parametrize('which', ['80 classes', '200 per class'])
def test_every_summary_value_equal(coco_case, which):
    ann_file, results = coco_case[which]
    reference, ref_eval = evaluate('pycocotools', ann_file, results)
    faster, fast_eval = evaluate('faster_coco_eval', ann_file, results)
    assert reference.shape == faster.shape == (12,)
    np.testing.assert_allclose(faster, reference, atol=1e-4, rtol=0)
    np.testing.assert_allclose(fast_eval['precision'], ref_eval['precision'], atol=1e-12)
    np.testing.assert_allclose(fast_eval['recall'], ref_eval['recall'], atol=1e-12)
    assert 0.1 < reference[0] < 0.9 and reference[3:6].min() > 0  # real, imperfect matching
    if which == '200 per class':
        # mAP is at maxDets=100, mAP_50 at 1000: the two differ only with > 100 per image
        at_1000 = ref_eval['precision'][:, :, :, 0, 2]
        assert abs(reference[0] - at_1000[at_1000 > -1].mean()) > 1e-3


def test_coco_metric_backends_agree(coco_case):
    ann_file, results = coco_case['80 classes']
    out = {}
    for backend in ('pycocotools', 'faster_coco_eval'):
        metric = CocoMetric(ann_file=str(ann_file), backend=backend, classwise=True,
                            metric_items=list(COCO_METRIC_NAMES))
        metric.dataset_meta = {'cat_ids': COCO_CAT_IDS}
        out[backend] = metric.compute_metrics(results)
    assert out['pycocotools'] == out['faster_coco_eval']
    assert len(out['pycocotools']) == 12 + len(COCO_CAT_IDS)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match=r"backend 'fast' is not supported.*faster_coco_eval"):
        CocoMetric(backend='fast')


def test_missing_package_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, 'faster_coco_eval', None)  # as if not installed
    with pytest.raises(ImportError, match='pip install faster-coco-eval'):
        CocoMetric(backend='faster_coco_eval')
