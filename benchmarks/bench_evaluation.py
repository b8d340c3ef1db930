"""COCO and VOC evaluation time on synthetic detections: mmssd's ``CocoMetric`` on
pycocotools and on faster-coco-eval (``backend='faster_coco_eval'``), side by side, and
``VOCMetric`` (``eval_map``).

Synthetic data (seeded): N images of 640x480 with 1 to 15 ground-truth boxes each (sides 4
to 400 px, so all three COCO area ranges are populated), and 100 detections per image: each
ground truth once, jittered, with its class (score ~ U(0.3, 1)), and the rest random boxes
with random classes (score ~ U(0, 0.6)), split into the per-class ``(n, 5)`` arrays that
the detector's test step produces.

- COCO: 80 categories (non-contiguous ids as in COCO); the ground truth is written to a
  temporary json; timed: ``CocoMetric.process`` over all images (batches of 8) and
  ``compute_metrics`` (``results2json``, ``COCO.loadRes``, ``COCOeval.evaluate``,
  ``accumulate``, ``summarize``), each phase of the COCO library timed on its own; once
  with pycocotools, once with faster-coco-eval (whose ``evaluate`` also accumulates), on the
  same detections; the ratio of the totals and whether every metric is the same.
- VOC: 20 classes, ground truth in ``img_metas['ann_info']``; timed: ``VOCMetric.process``
  and ``compute_metrics`` (``eval_map`` at IoU 0.5, ``'area'`` mode).

    python benchmarks/bench_evaluation.py           # 5000 images x 100 detections
    python benchmarks/bench_evaluation.py --quick   # 50 images (smoke test)
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import numpy as np
from mmengine.logging import MMLogger

from mmssd.evaluation import CocoMetric, VOCMetric
from mmssd.evaluation.coco_backends import COCO_BACKENDS, coco_api
from mmssd.evaluation.coco_metric import COCO_METRIC_NAMES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_peak import cpu_model  # noqa: E402

IMG_W, IMG_H = 640, 480
DETS_PER_IMAGE = 100
#: COCO's 80 category ids (1..90 with gaps)
COCO_CAT_IDS = [i for i in range(1, 91) if i not in
                (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]
BATCH = 8


def synthetic_image(rng: np.random.Generator, num_classes: int
                    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Ground truth ``(G, 4)`` xyxy boxes and ``(G,)`` labels, and the per-class ``(n, 5)``
    detections (100 in all) of one image."""
    num_gt = int(rng.integers(1, 16))
    wh = np.exp(rng.uniform(np.log(4), np.log(400), (num_gt, 2)))
    xy = rng.uniform(0, 1, (num_gt, 2)) * np.maximum([IMG_W, IMG_H] - wh, 1)
    gt = np.concatenate([xy, xy + wh], 1).astype(np.float32)
    gt_labels = rng.integers(0, num_classes, num_gt)

    jitter = rng.normal(0, 0.1, (num_gt, 4)) * np.concatenate([wh, wh], 1)
    hits = gt + jitter.astype(np.float32)
    num_random = DETS_PER_IMAGE - num_gt
    rwh = np.exp(rng.uniform(np.log(4), np.log(400), (num_random, 2)))
    rxy = rng.uniform(0, 1, (num_random, 2)) * np.maximum([IMG_W, IMG_H] - rwh, 1)
    boxes = np.concatenate([hits, np.concatenate([rxy, rxy + rwh], 1)]).astype(np.float32)
    scores = np.concatenate([rng.uniform(0.3, 1, num_gt), rng.uniform(0, 0.6, num_random)])
    labels = np.concatenate([gt_labels, rng.integers(0, num_classes, num_random)])
    dets = np.concatenate([boxes, scores[:, None]], 1).astype(np.float32)
    per_class = [dets[labels == c] for c in range(num_classes)]
    return gt, gt_labels, per_class


def synthetic_dataset(num_images: int, num_classes: int, seed: int = 0
                      ) -> list[tuple[np.ndarray, np.ndarray, list[np.ndarray]]]:
    """``num_images`` images of :func:`synthetic_image`."""
    rng = np.random.default_rng(seed)
    return [synthetic_image(rng, num_classes) for _ in range(num_images)]


def write_coco_json(data: list, path: Path) -> None:
    """COCO ground-truth json of ``data`` (image ids 1..N)."""
    images, anns = [], []
    for img_id, (gt, labels, _) in enumerate(data, start=1):
        images.append({'id': img_id, 'file_name': f'{img_id}.jpg', 'width': IMG_W,
                       'height': IMG_H})
        for box, label in zip(gt, labels, strict=True):
            x1, y1, x2, y2 = (float(v) for v in box)
            anns.append({'id': len(anns) + 1, 'image_id': img_id,
                         'category_id': COCO_CAT_IDS[int(label)], 'bbox': [x1, y1, x2 - x1,
                                                                           y2 - y1],
                         'area': (x2 - x1) * (y2 - y1), 'iscrowd': 0})
    cats = [{'id': c, 'name': f'class{c}'} for c in COCO_CAT_IDS]
    path.write_text(json.dumps({'images': images, 'annotations': anns, 'categories': cats}))


def batches(items: list, size: int) -> Iterator[list]:
    """Consecutive slices of ``size``."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


@contextlib.contextmanager
def timed_methods(cls: type, names: tuple[str, ...], out: dict[str, float]) -> Iterator[None]:
    """Accumulate into ``out[name]`` the seconds spent in ``cls.<name>`` while active."""
    patches = []
    for name in names:
        original = getattr(cls, name)

        def wrapper(self, *args, _original=original, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                out[_name] += time.perf_counter() - start

        patches.append(mock.patch.object(cls, name, wrapper))
    with contextlib.ExitStack() as stack:
        for p in patches:
            stack.enter_context(p)
        yield


def bench_coco(data: list, ann_file: Path, backend: str = 'pycocotools'
               ) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per phase of ``CocoMetric(backend=backend)`` on ``data`` (ground truth in
    ``ann_file``), and its metrics (all twelve COCO summary items)."""
    metric = CocoMetric(ann_file=str(ann_file), backend=backend,
                        metric_items=list(COCO_METRIC_NAMES))
    metric.dataset_meta = {'cat_ids': COCO_CAT_IDS}
    times: dict[str, float] = defaultdict(float)
    start = time.perf_counter()
    for first, chunk in zip(range(1, len(data) + 1, BATCH), batches(data, BATCH), strict=True):
        metas = [{'img_id': first + i} for i in range(len(chunk))]
        metric.process({'img_metas': metas}, [dets for _, _, dets in chunk])
    times['process'] = time.perf_counter() - start
    start = time.perf_counter()
    # faster-coco-eval's summary is computed by its ``_summarize`` (coco_backends.summarize)
    summary = 'summarize' if backend == 'pycocotools' else '_summarize'
    with timed_methods(coco_api(backend)[1], ('evaluate', 'accumulate', summary), times):
        metrics = metric.compute_metrics(metric.results)
    times['compute_metrics'] = time.perf_counter() - start
    times['summarize'] = times.pop(summary)
    times['other (json, COCO(), loadRes)'] = times['compute_metrics'] - sum(
        times[k] for k in ('evaluate', 'accumulate', 'summarize'))
    times['total'] = times['process'] + times['compute_metrics']
    return dict(times), metrics


def bench_voc(data: list) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per phase of ``VOCMetric`` on ``data``, and its metrics."""
    metric = VOCMetric(eval_mode='area')
    times: dict[str, float] = {}
    start = time.perf_counter()
    for chunk in batches(data, BATCH):
        metas = [{'ann_info': {'bboxes': gt, 'labels': labels}} for gt, labels, _ in chunk]
        metric.process({'img_metas': metas}, [dets for _, _, dets in chunk])
    times['process'] = time.perf_counter() - start
    start = time.perf_counter()
    metrics = metric.compute_metrics(metric.results)
    times['compute_metrics (eval_map)'] = time.perf_counter() - start
    times['total'] = times['process'] + times['compute_metrics (eval_map)']
    return times, metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='50 images')
    parser.add_argument('--images', type=int, default=None, help='default 5000 (quick: 50)')
    parser.add_argument('--skip-voc', action='store_true')
    parser.add_argument('--backends', nargs='+', choices=COCO_BACKENDS, default=COCO_BACKENDS,
                        help='COCO libraries to time, in this order (default: both)')
    args = parser.parse_args()
    num_images = args.images or (50 if args.quick else 5000)
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # no summary tables

    print(f'{cpu_model()}; {num_images} images x {DETS_PER_IMAGE} detections; '
          f'load average at start {os.getloadavg()[0]:.2f}')
    coco_data = synthetic_dataset(num_images, len(COCO_CAT_IDS))
    num_gt = sum(len(gt) for gt, _, _ in coco_data)
    totals, all_metrics = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        ann_file = Path(tmp) / 'gt.json'
        write_coco_json(coco_data, ann_file)
        for backend in args.backends:
            coco_times, coco_metrics = bench_coco(coco_data, ann_file, backend)
            totals[backend], all_metrics[backend] = coco_times['total'], coco_metrics
            print(f'\n== CocoMetric ({backend}), 80 classes, {num_gt} ground truths, '
                  f'{num_images * DETS_PER_IMAGE} detections')
            for name, seconds in coco_times.items():
                print(f'{name:<32}{seconds:>9.2f} s')
            print('metrics: ' + ', '.join(f'{k} {v:.3f}'
                                         for k, v in list(coco_metrics.items())[:6]))
            if num_images == 5000 and backend == 'pycocotools':
                verdict = 'met' if coco_times['total'] <= 60 else 'missed'
                print(f'target: total <= 60 s for 5000 images: {verdict}')
    if len(totals) == 2:
        same = all_metrics['pycocotools'] == all_metrics['faster_coco_eval']
        print(f'\nfaster_coco_eval vs pycocotools: '
              f'{totals["pycocotools"] / totals["faster_coco_eval"]:.2f}x faster in total; '
              f'all {len(all_metrics["pycocotools"])} metrics the same: {same}')
    if args.skip_voc:
        return
    voc_data = synthetic_dataset(num_images, 20, seed=1)
    voc_times, voc_metrics = bench_voc(voc_data)
    print(f'\n== VOCMetric (eval_map, IoU 0.5, area), 20 classes, '
          f'{sum(len(gt) for gt, _, _ in voc_data)} ground truths, '
          f'{num_images * DETS_PER_IMAGE} detections')
    for name, seconds in voc_times.items():
        print(f'{name:<32}{seconds:>9.2f} s')
    print('metrics: ' + ', '.join(f'{k} {v:.3f}' for k, v in voc_metrics.items()))


if __name__ == '__main__':
    main()
