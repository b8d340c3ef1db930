"""Average precision of a recall/precision curve ('area' or '11points')."""
from __future__ import annotations

import numpy as np

#: Recall thresholds of the 11-point AP, built like mmdetection 2.x / the py-faster-rcnn
#: VOC code (``np.arange``): 0.3 is 0.30000000000000004 here, so a recall of exactly
#: 0.3 does not reach it. Kept as is so that the numbers match mmdetection's.
ELEVEN_RECALL_THRESHOLDS = np.arange(0, 1 + 1e-3, 0.1)


def precision_envelope(precisions: np.ndarray) -> np.ndarray:
    """``out[..., i] = max(precisions[..., i:])`` along the last axis (same shape)."""
    return np.maximum.accumulate(precisions[..., ::-1], axis=-1)[..., ::-1]


def area_ap(recalls: np.ndarray, precisions: np.ndarray) -> float:
    """VOC2010+ all-point AP of one curve: the area under the precision envelope.

    Args:
        recalls: (D,) non-decreasing recalls after each detection (score order).
        precisions: (D,) precisions after each detection.
    """
    mrec = np.concatenate(([0.0], recalls, [1.0]))
    mpre = precision_envelope(np.concatenate(([0.0], precisions, [0.0])))
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def eleven_point_ap(recalls: np.ndarray, precisions: np.ndarray) -> float:
    """VOC2007 11-point AP of one curve: the mean over ``t`` in 0, 0.1, ..., 1 of the
    largest precision at a recall >= ``t`` (0 when the recall never reaches ``t``).

    Args:
        recalls: (D,) non-decreasing recalls after each detection (score order).
        precisions: (D,) precisions after each detection.
    """
    if len(recalls) == 0:
        return 0.0
    best_from = np.concatenate((precision_envelope(precisions), [0.0]))
    first = np.searchsorted(recalls, ELEVEN_RECALL_THRESHOLDS, side='left')
    return float(best_from[first].sum() / len(ELEVEN_RECALL_THRESHOLDS))


def average_precision(recalls: np.ndarray, precisions: np.ndarray,
                      mode: str = 'area') -> float | np.ndarray:
    """AP of one curve (D,) -> float, or of one curve per scale (S, D) -> (S,) array.

    Args:
        recalls, precisions: same shape, recall non-decreasing along the last axis.
        mode: ``'area'`` (all-point interpolation) or ``'11points'``.
    """
    compute = {'area': area_ap, '11points': eleven_point_ap}.get(mode)
    if compute is None:
        raise ValueError(f"eval_mode must be 'area' or '11points', got {mode!r}")
    recalls, precisions = np.asarray(recalls), np.asarray(precisions)
    if recalls.shape != precisions.shape:
        raise ValueError(f'recalls {recalls.shape} and precisions {precisions.shape} differ')
    if recalls.ndim == 1:
        return compute(recalls, precisions)
    return np.array([compute(r, p) for r, p in zip(recalls, precisions)])
