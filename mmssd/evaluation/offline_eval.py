"""Evaluate saved detections against a dataset, without running a model.

Detections come from ``tools/test.py --out results.pkl`` (per image, per class ``(n, 5)``
arrays in dataset order) or are a COCO result json (``jsonfile_prefix``, a fusion of
several models, a submission file). Used by ``tools/analysis_tools/eval_metric.py`` and
``analyze_results.py``.
"""
from __future__ import annotations

import json
import os.path as osp
import pickle
from collections.abc import Sequence

import numpy as np
from torch.utils.data import Dataset

from mmssd.registry import METRICS

from .json2results import json2results
from .mean_ap import eval_map

DetResult = list[np.ndarray]
#: IoU thresholds of the per-image mAP (COCO's 0.50:0.05:0.95).
COCO_IOUS = tuple(np.linspace(0.5, 0.95, 10).round(2).tolist())


def dataset_img_ids(dataset: Dataset) -> list[int]:
    """The image id of every dataset index (``img_id`` of the test metas)."""
    return [int(dataset._img_id(i)) for i in range(len(dataset))]


def load_results(path: str, dataset: Dataset) -> list[DetResult]:
    """Per image of ``dataset`` (in order), per class ``(n, 5)`` detections from a
    results ``.pkl`` or a COCO result ``.json``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: an unknown extension, a pickle whose length differs from the dataset,
            or json entries of images/categories the dataset lacks.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'results file not found: {path}')
    if path.endswith(('.pkl', '.pickle')):
        with open(path, 'rb') as f:
            results = pickle.load(f)  # noqa: S301 - the user's own tools/test.py output
        if not isinstance(results, list) or len(results) != len(dataset):
            count = len(results) if isinstance(results, list) else type(results).__name__
            raise ValueError(f'{path} holds {count} results but the test set has '
                             f'{len(dataset)} images; use the pickle tools/test.py --out wrote '
                             'for this config')
        return [[np.asarray(d, np.float32).reshape(-1, 5) for d in r] for r in results]
    if path.endswith('.json'):
        with open(path) as f:
            dets = json.load(f)
        if not isinstance(dets, list):
            raise ValueError(f'{path} is not a COCO result list (a json list of detections)')
        cat_ids = dataset.metainfo['cat_ids']
        return json2results(dets, dataset_img_ids(dataset), cat_ids)
    raise ValueError(f'results file {path}: expected a .pkl (tools/test.py --out) or a COCO '
                     'result .json')


def evaluate_results(results: Sequence[DetResult], dataset: Dataset, metric_cfg: dict) -> dict:
    """The metrics of ``results`` on ``dataset`` by the metric ``metric_cfg`` builds (as
    the test loop would compute them: same ``img_metas`` fields, same metric)."""
    metric = METRICS.build(metric_cfg)
    metric.dataset_meta = dataset.metainfo
    img_ids = dataset_img_ids(dataset)
    for i, result in enumerate(results):
        meta = dict(img_id=img_ids[i], ann_info=dataset.get_ann_info(i))
        metric.process({'img_metas': [meta]}, [result])
    return metric.evaluate(len(results))


def image_map(result: DetResult, ann: dict, iou_thrs: Sequence[float] = COCO_IOUS) -> float:
    """mAP of one image's detections, averaged over ``iou_thrs`` (VOC-style AP per class,
    as mmdetection 2.x's ``analyze_results``). An image without ground truth scores 1 when
    it has no detection, else 0 (every detection is a false positive)."""
    if not len(ann['bboxes']):
        return 0.0 if any(len(d) for d in result) else 1.0
    aps = [eval_map([result], [ann], iou_thr=float(t), logger='silent')[0] for t in iou_thrs]
    return float(np.mean(aps))
