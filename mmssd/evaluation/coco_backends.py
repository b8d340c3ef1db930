"""The COCO evaluation libraries ``CocoMetric`` runs on: pycocotools or faster-coco-eval.

``CocoMetric(backend=...)`` (config: ``evaluation=dict(metric='bbox',
backend='faster_coco_eval')``) picks one. Both read the same ground-truth json and the
same detections and fill the same ``eval['precision']`` (T, R, K, A, M) and
``eval['recall']`` (T, K, A, M) arrays; faster-coco-eval does the per-image matching and
the accumulation in C++. Its own ``summarize`` lays its statistics out differently
(AP at the largest ``maxDets`` where pycocotools takes ``maxDets=100``), so
:func:`summarize` computes pycocotools' twelve numbers, in pycocotools' order, from
either library's arrays through the library's own ``_summarize``.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
from typing import Any

import numpy as np

#: Backends ``CocoMetric`` accepts, the default first.
COCO_BACKENDS = ('pycocotools', 'faster_coco_eval')


def coco_api(backend: str) -> tuple[type, type]:
    """``(COCO, COCOeval)`` classes of ``backend``.

    Raises:
        ValueError: an unknown backend name.
        ImportError: faster-coco-eval asked for but not installed (with the pip command).
    """
    if backend == 'pycocotools':
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
        return COCO, COCOeval
    if backend == 'faster_coco_eval':
        if importlib.util.find_spec('faster_coco_eval') is None:
            raise ImportError("CocoMetric: backend='faster_coco_eval' needs the "
                              'faster-coco-eval package: pip install faster-coco-eval')
        from faster_coco_eval import COCO, COCOeval_faster
        return COCO, COCOeval_faster
    raise ValueError(f'CocoMetric: backend {backend!r} is not supported; choose from '
                     f'{list(COCO_BACKENDS)}')


def make_coco_eval(backend: str, coco_gt: Any, coco_dt: Any) -> Any:
    """A bbox ``COCOeval`` of ``backend`` on ground truth and detections of that backend's
    ``COCO`` class (faster-coco-eval's progress lines are collected, not printed)."""
    evaluator_cls = coco_api(backend)[1]
    if backend == 'faster_coco_eval':
        return evaluator_cls(coco_gt, coco_dt, 'bbox', print_function=lambda *args: None)
    return evaluator_cls(coco_gt, coco_dt, 'bbox')


def _pycocotools_layout(max_dets: list[int]) -> list[tuple[int, float | None, str, int]]:
    """``(ap, iouThr, areaRng, maxDets)`` of pycocotools' twelve ``stats``, in order."""
    last = max_dets[2]
    return [(1, None, 'all', 100), (1, .5, 'all', last), (1, .75, 'all', last),
            (1, None, 'small', last), (1, None, 'medium', last), (1, None, 'large', last),
            (0, None, 'all', max_dets[0]), (0, None, 'all', max_dets[1]),
            (0, None, 'all', last), (0, None, 'small', last), (0, None, 'medium', last),
            (0, None, 'large', last)]


def summarize(coco_eval: Any, backend: str) -> tuple[np.ndarray, str]:
    """pycocotools' ``stats`` (12,) of an accumulated ``coco_eval`` and its summary text.

    pycocotools' own ``summarize`` for pycocotools; for faster-coco-eval, its
    ``_summarize`` called with pycocotools' arguments (the first AP at ``maxDets=100``,
    -1 when 100 is not one of ``params.maxDets``, as pycocotools gives).
    """
    buf = io.StringIO()
    if backend == 'pycocotools':
        with contextlib.redirect_stdout(buf):
            coco_eval.summarize()
        return np.asarray(coco_eval.stats, dtype=np.float64), buf.getvalue()
    max_dets = list(coco_eval.params.maxDets)
    if len(max_dets) < 3:
        raise ValueError(f'CocoMetric: COCO summaries need 3 maxDets (proposal_nums); got '
                         f'{max_dets}')
    lines: list[str] = []
    stats = []
    saved = coco_eval.print_function
    coco_eval.print_function = lines.append
    try:
        for ap, iou_thr, area, dets in _pycocotools_layout(max_dets):
            if dets not in max_dets:
                stats.append(-1.0)
                continue
            stats.append(float(coco_eval._summarize(ap, iouThr=iou_thr, areaRng=area,
                                                    maxDets=dets)))
    finally:
        coco_eval.print_function = saved
    coco_eval.stats = np.asarray(stats, dtype=np.float64)
    return coco_eval.stats, '\n'.join(lines) + '\n'
