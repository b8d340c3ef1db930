"""Same detections? onnxruntime's against PyTorch's, with ties at the ``max_per_img`` cut.

Detections are per image a list over classes of ``(n, 5)`` arrays ``[x1, y1, x2, y2,
score]`` (:func:`mmssd.models.utils.bbox2result`'s format).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: the tolerances of ``--verify`` and the export tests
BOX_TOL, SCORE_TOL = 1e-2, 1e-4


def match_image(expected: Sequence[np.ndarray], actual: Sequence[np.ndarray],
                max_per_img: int, box_tol: float = BOX_TOL,
                score_tol: float = SCORE_TOL) -> dict:
    """Pair one image's detections class by class: each expected detection with an actual
    one of its class whose score is within ``score_tol`` and box within ``box_tol`` px.

    Unpaired detections are allowed only at the ``max_per_img`` cut: when a side holds
    ``max_per_img`` detections, those scoring within ``score_tol`` of its lowest score
    tie with the ones left out, and either may be kept.

    Returns ``dict(ok, paired, unpaired_expected, unpaired_actual, box_diff,
    score_diff)``: the largest differences over the pairs, and the unpaired detections
    that are not ties at the cut (``ok`` when there are none).
    """
    def cut(dets: Sequence[np.ndarray]) -> float:
        scores = np.concatenate([d[:, 4] for d in dets]) if len(dets) else np.zeros(0)
        full = len(scores) >= max_per_img > 0
        return float(scores.min()) + score_tol if full else -np.inf

    cuts = (cut(expected), cut(actual))
    paired, box_diff, score_diff = 0, 0.0, 0.0
    bad_expected, bad_actual = [], []
    for label, (want, got) in enumerate(zip(expected, actual, strict=True)):
        free = np.ones(len(got), bool)
        for det in want[np.argsort(-want[:, 4], kind='stable')]:
            box_err = np.abs(got[:, :4] - det[:4]).max(axis=1) if len(got) else np.zeros(0)
            ok = free & (np.abs(got[:, 4] - det[4]) <= score_tol) & (box_err <= box_tol)
            if ok.any():
                j = int(np.flatnonzero(ok)[np.argmin(box_err[ok])])
                free[j] = False
                paired += 1
                box_diff = max(box_diff, float(box_err[j]))
                score_diff = max(score_diff, float(abs(got[j, 4] - det[4])))
            elif det[4] > max(cuts):
                bad_expected.append((label, det.tolist()))
        bad_actual += [(label, d.tolist()) for d in got[free] if d[4] > max(cuts)]
    return dict(ok=not bad_expected and not bad_actual, paired=paired,
                unpaired_expected=bad_expected, unpaired_actual=bad_actual,
                box_diff=box_diff, score_diff=score_diff)


def compare_detections(expected: Sequence[Sequence[np.ndarray]],
                       actual: Sequence[Sequence[np.ndarray]], max_per_img: int) -> dict:
    """:func:`match_image` of every image: ``dict(ok, paired, box_diff, score_diff,
    images)`` (``images``: the per-image reports)."""
    images = [match_image(e, a, max_per_img) for e, a in zip(expected, actual, strict=True)]
    return dict(ok=all(r['ok'] for r in images), paired=sum(r['paired'] for r in images),
                box_diff=max((r['box_diff'] for r in images), default=0.0),
                score_diff=max((r['score_diff'] for r in images), default=0.0), images=images)
