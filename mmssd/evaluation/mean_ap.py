"""``eval_map``: PASCAL VOC style mean average precision (mmdetection 2.x semantics)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmssd.structures.bbox import bbox_areas_np

from .average_precision import average_precision
from .map_summary import print_map_summary
from .tpfp import ALL_AREAS, match_image, outside

__all__ = ['eval_map', 'print_map_summary']

#: Smallest denominator of recall and precision (mmdetection's float32 eps).
EPS = float(np.finfo(np.float32).eps)


def area_ranges_of(scale_ranges: Sequence[tuple[float, float]] | None) -> np.ndarray:
    """Scale ranges (box sides ``[min, max)``) -> ``(S, 2)`` area ranges (squares)."""
    if scale_ranges is None:
        return ALL_AREAS
    ranges = np.asarray(scale_ranges, dtype=np.float64).reshape(-1, 2)
    return ranges ** 2


def check_inputs(det_results: Sequence[Sequence[np.ndarray]],
                 annotations: Sequence[dict]) -> int:
    """Validate the inputs of :func:`eval_map`; return the number of classes."""
    if len(det_results) != len(annotations):
        raise ValueError(f'eval_map: {len(det_results)} detection results but '
                         f'{len(annotations)} annotations')
    if len(det_results) == 0:
        raise ValueError('eval_map: no images to evaluate')
    num_classes = len(det_results[0])
    for i, (dets, ann) in enumerate(zip(det_results, annotations)):
        if len(dets) != num_classes:
            raise ValueError(f'eval_map: image {i} has detections for {len(dets)} classes, '
                             f'image 0 for {num_classes}')
        labels = np.concatenate([np.asarray(ann['labels'], np.int64).reshape(-1),
                                 np.asarray(ann.get('labels_ignore', []), np.int64).reshape(-1)])
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f'eval_map: image {i} has gt labels {sorted(set(labels.tolist()))}'
                             f' outside 0..{num_classes - 1}')
    return num_classes


def count_gts(annotations: Sequence[dict], num_classes: int, area_ranges: np.ndarray,
              extra_length: float) -> np.ndarray:
    """Number of kept (not ignored) gt boxes per scale and class -> (S, C) int64."""
    labels = np.concatenate([np.asarray(a['labels'], np.int64).reshape(-1)
                             for a in annotations])
    boxes = np.concatenate([np.asarray(a['bboxes'], np.float32).reshape(-1, 4)
                            for a in annotations])
    inside = ~outside(bbox_areas_np(boxes, extra_length), area_ranges)
    return np.stack([np.bincount(labels[m], minlength=num_classes) for m in inside])


def class_curves(tp: np.ndarray, fp: np.ndarray, num_gts: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision after each detection of one class.

    Args:
        tp, fp: ``(S, D)`` bool, detections in decreasing score order.
        num_gts: ``(S,)`` number of gt boxes.

    Returns:
        ``recalls``, ``precisions``: ``(S, D)`` float64.
    """
    tp_sum = np.cumsum(tp, axis=1, dtype=np.float64)
    fp_sum = np.cumsum(fp, axis=1, dtype=np.float64)
    recalls = tp_sum / np.maximum(num_gts[:, None], EPS)
    precisions = tp_sum / np.maximum(tp_sum + fp_sum, EPS)
    return recalls, precisions


def class_results(labels: np.ndarray, scores: np.ndarray, tp: np.ndarray, fp: np.ndarray,
                  num_gts: np.ndarray, eval_mode: str) -> list[dict]:
    """Per class: ``num_gts (S,)``, ``num_dets``, ``recall``/``precision`` ``(S, D_c)``,
    ``ap (S,)`` from the detections of all images.

    Args:
        labels, scores: ``(D,)`` of every detection of every image.
        tp, fp: ``(S, D)`` bool.
        num_gts: ``(S, C)`` gt counts.
        eval_mode: ``'area'`` or ``'11points'``.
    """
    order = np.lexsort((-scores, labels))  # by class, then score; ties keep input order
    bounds = np.searchsorted(labels[order], np.arange(num_gts.shape[1] + 1))
    out = []
    for cls in range(num_gts.shape[1]):
        idx = order[bounds[cls]:bounds[cls + 1]]
        recalls, precisions = class_curves(tp[:, idx], fp[:, idx], num_gts[:, cls])
        out.append({'num_gts': num_gts[:, cls], 'num_dets': len(idx), 'recall': recalls,
                    'precision': precisions,
                    'ap': average_precision(recalls, precisions, eval_mode)})
    return out


def mean_over_classes(results: list[dict]) -> list[float]:
    """Per scale, the mean AP of the classes that have gt boxes (0 if none) -> (S,)."""
    aps = np.stack([r['ap'] for r in results])  # (C, S)
    has_gts = np.stack([r['num_gts'] for r in results]) > 0
    return [float(aps[has_gts[:, s], s].mean()) if has_gts[:, s].any() else 0.0
            for s in range(aps.shape[1])]


def squeeze_scale(results: list[dict]) -> None:
    """Without scale ranges: ``num_gts`` -> int, ``recall``/``precision`` -> (D,),
    ``ap`` -> float, in place."""
    for res in results:
        res['num_gts'] = int(res['num_gts'][0])
        res['recall'], res['precision'] = res['recall'][0], res['precision'][0]
        res['ap'] = float(res['ap'][0])


def eval_map(det_results: Sequence[Sequence[np.ndarray]], annotations: Sequence[dict], *,
             iou_thr: float = 0.5, scale_ranges: Sequence[tuple[float, float]] | None = None,
             eval_mode: str = 'area', use_legacy_coordinate: bool = False,
             dataset: Sequence[str] | None = None, logger=None, nproc: int | None = None
             ) -> tuple[float | list[float], list[dict]]:
    """Mean average precision of detections over a set of images (VOC protocol).

    Per class, the detections of all images are sorted by score and assigned to the gt
    boxes as :mod:`mmssd.evaluation.tpfp` describes; ignored gt boxes do not count in
    ``num_gts``. AP is taken on the recall/precision curve by ``eval_mode``.

    Args:
        det_results: per image, per class, ``(n, 5)`` ``[x1, y1, x2, y2, score]``.
        annotations: per image, ``bboxes`` (N, 4) float32 xyxy, ``labels`` (N,) int64 and
            optionally ``bboxes_ignore`` (M, 4) with ``labels_ignore`` (M,); ignored boxes
            are used only when ``labels_ignore`` is given, as in mmdetection 2.x.
        iou_thr: IoU needed for a match.
        scale_ranges: ``[(min_side, max_side), ...]``; each range is evaluated on its
            own, boxes of area ``[min_side**2, max_side**2)`` only.
        eval_mode: ``'area'`` (VOC2010+, all points) or ``'11points'`` (VOC2007).
        use_legacy_coordinate: a box is ``x2 - x1 + 1`` wide (the VOC devkit convention).
        dataset: class names for the logged table.
        logger: where the table goes (:func:`mmengine.logging.print_log`; ``'silent'``
            for nothing).
        nproc: ignored (kept for mmdetection compatibility; the matching is vectorised).

    Returns:
        ``(mean_ap, results)``: ``mean_ap`` is the mean AP of the classes with gt boxes
        (a list, one per scale range, when ``scale_ranges`` is given); ``results`` has per
        class a dict ``num_gts``, ``num_dets``, ``recall`` (D_c,), ``precision`` (D_c,),
        ``ap`` (with scale ranges: (S,) ``num_gts``/``ap`` and (S, D_c) curves).
    """
    del nproc
    if eval_mode not in ('area', '11points'):
        raise ValueError(f"eval_mode must be 'area' or '11points', got {eval_mode!r}")
    num_classes = check_inputs(det_results, annotations)
    area_ranges = area_ranges_of(scale_ranges)
    matches = [match_image(dets, ann, iou_thr, area_ranges, use_legacy_coordinate)
               for dets, ann in zip(det_results, annotations)]
    labels, scores, tp, fp = (np.concatenate(parts, axis=-1) for parts in zip(*matches))
    extra = 1.0 if use_legacy_coordinate else 0.0
    num_gts = count_gts(annotations, num_classes, area_ranges, extra)
    results = class_results(labels, scores, tp, fp, num_gts, eval_mode)
    mean_aps = mean_over_classes(results)
    if scale_ranges is None:
        squeeze_scale(results)
    mean_ap = mean_aps[0] if scale_ranges is None else mean_aps
    print_map_summary(mean_ap, results, dataset, scale_ranges, logger=logger)
    return mean_ap, results
