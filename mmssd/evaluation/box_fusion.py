"""Fuse several models' COCO result lists into one (model ensembling) with ``ensemble-boxes``.

Each image's boxes from every model are normalised by the image size (ensemble-boxes works
in ``[0, 1]`` coordinates; IoU does not change), fused by weighted boxes fusion (``'wbf'``),
NMS (``'nms'``) or soft-NMS (``'soft_nms'``; both mmssd's per-class
:func:`~mmssd.models.utils.multiclass_nms.batched_nms`) with per-model weights, class by
class, and mapped back to pixels. As in ensemble-boxes, NMS scales model ``i``'s scores
by ``weights[i] / sum(weights)``.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from mmssd.models.utils.multiclass_nms import batched_nms

FUSION_METHODS = ('wbf', 'nms', 'soft_nms')


def _per_image(dets: Sequence[dict]) -> dict[int, list[dict]]:
    grouped: dict[int, list[dict]] = defaultdict(list)
    for det in dets:
        grouped[int(det['image_id'])].append(det)
    return grouped


def _normalised(dets: list[dict], width: float, height: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``boxes (n, 4)`` xyxy in ``[0, 1]``, ``scores (n,)``, ``labels (n,)`` category ids."""
    if not dets:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0)
    xywh = np.array([d['bbox'] for d in dets], np.float64).reshape(-1, 4)
    boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    boxes /= np.array([width, height, width, height])
    return (boxes.clip(0, 1), np.array([d['score'] for d in dets], np.float64),
            np.array([d['category_id'] for d in dets], np.float64))


def weighted_nms(boxes: Sequence[np.ndarray], scores: Sequence[np.ndarray],
                 labels: Sequence[np.ndarray], weights: Sequence[float], nms_cfg: dict
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class NMS or soft-NMS (``nms_cfg``) over all models' boxes, model ``i``'s scores
    scaled by ``weights[i] / sum(weights)``; per model ``(n_i, 4)``, ``(n_i,)``, ``(n_i,)``
    in, the kept ``(k, 4)``, ``(k,)`` (soft-NMS: decayed), ``(k,)`` out (by decreasing
    score)."""
    total = float(sum(weights))
    all_boxes = np.concatenate(boxes).reshape(-1, 4)
    all_scores = np.concatenate([s * w / total for s, w in zip(scores, weights, strict=True)])
    all_labels = np.concatenate(labels)
    if not len(all_boxes):
        return all_boxes, all_scores, all_labels
    _, index = np.unique(all_labels, return_inverse=True)
    keep, kept_scores = batched_nms(torch.from_numpy(all_boxes), torch.from_numpy(all_scores),
                                    torch.from_numpy(index.reshape(-1)), nms_cfg)
    keep = keep.numpy()
    return all_boxes[keep], kept_scores.numpy(), all_labels[keep]


def fuse_detections(results: Sequence[Sequence[dict]], image_sizes: Mapping[int, tuple],
                    weights: Sequence[float] | None = None, method: str = 'wbf',
                    iou_thr: float = 0.55, skip_box_thr: float = 0.0,
                    conf_type: str = 'avg', max_per_img: int = 100,
                    soft_nms: Mapping | None = None) -> list[dict]:
    """One COCO result list from several (one per model).

    Args:
        results: per model, COCO detections ``{'image_id', 'category_id', 'bbox': [x, y,
            w, h], 'score'}``.
        image_sizes: ``{image_id: (width, height)}`` for every image in ``results``.
        weights: one per model (default all 1): WBF weighs the boxes' coordinates and
            scores by them; NMS scales the scores.
        method: one of :data:`FUSION_METHODS`.
        iou_thr: boxes of one class overlapping more are fused / suppressed (soft-NMS:
            decayed, ``linear``).
        skip_box_thr: boxes scoring below this are dropped first (WBF only).
        conf_type: WBF's score of a fused box (``'avg'``, ``'max'``, ``'box_and_model_avg'``,
            ``'absent_model_aware_avg'``).
        max_per_img: keep the best this many per image (``<= 0``: all).
        soft_nms: soft-NMS's ``method``, ``sigma``, ``min_score`` (mmcv's defaults:
            ``'linear'``, 0.5, 1e-3).

    Returns:
        COCO detections in pixels, each image's sorted by score.

    Raises:
        ValueError: an unknown method, a weight count that differs from the model
            count, or an image missing from ``image_sizes``.
    """
    from ensemble_boxes import weighted_boxes_fusion

    if method not in FUSION_METHODS:
        raise ValueError(f'fusion method {method!r} is not one of {list(FUSION_METHODS)}')
    if weights is not None and len(weights) != len(results):
        raise ValueError(f'{len(weights)} weights for {len(results)} result files; give one '
                         'weight per model')
    weights = list(weights) if weights is not None else [1.0] * len(results)
    grouped = [_per_image(dets) for dets in results]
    image_ids = sorted({i for per_model in grouped for i in per_model})
    unknown = [i for i in image_ids if i not in image_sizes]
    if unknown:
        raise ValueError(f'image ids {unknown[:5]} of the results are not in the ground-truth '
                         f'images ({len(unknown)} in all): results and annotations differ')
    nms_cfg = dict(type=method, iou_threshold=iou_thr,
                   **(dict(soft_nms or {}) if method == 'soft_nms' else {}))
    fused = []
    for img_id in image_ids:
        width, height = image_sizes[img_id]
        boxes, scores, labels = zip(*[_normalised(per_model.get(img_id, []), width, height)
                                      for per_model in grouped], strict=True)
        if method == 'wbf':
            out = weighted_boxes_fusion(list(boxes), list(scores), list(labels),
                                        weights=weights, iou_thr=iou_thr,
                                        skip_box_thr=skip_box_thr, conf_type=conf_type)
        else:
            out = weighted_nms(boxes, scores, labels, weights, nms_cfg)
        f_boxes, f_scores, f_labels = (np.asarray(a) for a in out)
        order = np.argsort(-f_scores, kind='stable')
        if max_per_img > 0:
            order = order[:max_per_img]
        scale = np.array([width, height, width, height])
        for k in order:
            x1, y1, x2, y2 = (f_boxes[k].reshape(4) * scale).tolist()
            fused.append({'image_id': img_id, 'category_id': int(f_labels[k]),
                          'bbox': [x1, y1, x2 - x1, y2 - y1], 'score': float(f_scores[k])})
    return fused
