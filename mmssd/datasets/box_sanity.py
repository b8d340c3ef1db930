"""Load-time box sanity shared by every dataset type (Custom, COCO, VOC).

Each image's ``ann`` dict goes through :func:`sanitize_ann` once, at dataset init:

- boxes with a NaN/inf coordinate, ``x2 < x1`` or ``y2 < y1``, zero area
  (``x2 == x1`` or ``y2 == y1``), a side below ``min_side`` px, or wholly outside the
  image are dropped (with their labels);
- boxes partly outside the image are clipped to ``[0, width] x [0, height]``.

The same rules apply to ``bboxes`` and ``bboxes_ignore``. Every drop or clip is counted
in an :class:`~mmssd.datasets.issue_log.IssueLog`; the dataset turns it into one
warning (:func:`box_sanity_message`).
"""
from __future__ import annotations

import numpy as np

from .issue_log import IssueLog

NON_FINITE = 'dropped: a coordinate is NaN or inf'
INVERTED = 'dropped: x2 < x1 or y2 < y1'
ZERO_AREA = 'dropped: zero area (x2 == x1 or y2 == y1)'
TOO_SMALL = 'dropped: width or height below {min_side} px'
OUTSIDE = 'dropped: wholly outside the image'
CLIPPED = 'clipped to the image (partly outside)'

#: (box field, label field) pairs of an ``ann`` dict.
BOX_FIELDS = (('bboxes', 'labels'), ('bboxes_ignore', 'labels_ignore'))


def as_boxes(value) -> np.ndarray:
    """Anything box-like (list, array, empty) as a float32 (N, 4) array (a copy)."""
    return np.array(value if value is not None else [], dtype=np.float32).reshape(-1, 4)


def as_labels(value) -> np.ndarray:
    """Anything label-like as an int64 (N,) array (a copy)."""
    return np.array(value if value is not None else [], dtype=np.int64).reshape(-1)


def classify_boxes(boxes: np.ndarray, width: float, height: float,
                   min_side: float = 0.0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Which boxes to keep and why the others go.

    Args:
        boxes: (N, 4) float xyxy in pixels.
        width, height: the image size in pixels.
        min_side: boxes narrower or shorter than this are dropped (0 disables).

    Returns:
        ``keep`` (N,) bool and ``{reason: (N,) bool}``; each dropped box has exactly
        one reason (the first that applies, in the order of the module docstring).
    """
    x1, y1, x2, y2 = boxes.T
    remaining = np.ones(len(boxes), dtype=bool)
    reasons: dict[str, np.ndarray] = {}

    def take(reason: str, hit: np.ndarray) -> None:
        hit = hit & remaining
        reasons[reason] = hit
        remaining[hit] = False

    with np.errstate(invalid='ignore'):
        take(NON_FINITE, ~np.isfinite(boxes).all(axis=1))
        take(INVERTED, (x2 < x1) | (y2 < y1))
        take(ZERO_AREA, (x2 == x1) | (y2 == y1))
        if min_side > 0:
            take(TOO_SMALL.format(min_side=min_side),
                 ((x2 - x1) < min_side) | ((y2 - y1) < min_side))
        take(OUTSIDE, (x1 >= width) | (y1 >= height) | (x2 <= 0) | (y2 <= 0))
    return remaining, reasons


def clip_boxes(boxes: np.ndarray, width: float, height: float) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) boxes clipped to the image, and the (N,) bool mask of those that changed."""
    clipped = boxes.copy()
    clipped[:, 0::2] = clipped[:, 0::2].clip(0, width)
    clipped[:, 1::2] = clipped[:, 1::2].clip(0, height)
    return clipped, (clipped != boxes).any(axis=1)


def sanitize_ann(ann: dict, width: float, height: float, where: str, log: IssueLog,
                 min_side: float = 0.0) -> dict:
    """A cleaned copy of one image's ``ann`` dict; every change is counted in ``log``.

    Args:
        ann: ``bboxes`` (N, 4) xyxy, ``labels`` (N,), optional ``bboxes_ignore`` (M, 4)
            and ``labels_ignore`` (M,); lists or arrays. Other keys are copied as is.
        width, height: image size in pixels.
        where: names the image in the warning (file or image id).
        log: collects the counts.
        min_side: see :func:`classify_boxes`.

    Returns:
        ``ann`` with float32 (K, 4) box arrays and int64 (K,) label arrays. Label fields
        absent from ``ann`` stay absent (``labels_ignore`` is optional).
    """
    out = dict(ann)
    for box_key, label_key in BOX_FIELDS:
        if box_key not in ann and box_key != 'bboxes':
            continue
        boxes = as_boxes(ann.get(box_key))
        keep, reasons = classify_boxes(boxes, width, height, min_side)
        for reason, hit in reasons.items():
            log.add(reason, where, int(hit.sum()))
        kept, changed = clip_boxes(boxes[keep], width, height)
        log.add(CLIPPED, where, int(changed.sum()))
        out[box_key] = kept
        if label_key in ann or label_key == 'labels':
            labels = as_labels(ann.get(label_key))
            if len(labels) != len(boxes):
                raise ValueError(f'{where}: `{box_key}` has {len(boxes)} boxes but '
                                 f'`{label_key}` has {len(labels)} labels; expected one '
                                 'label per box')
            out[label_key] = labels[keep]
    return out


def box_sanity_message(dataset: str, ann_file: str, log: IssueLog) -> str:
    """The one warning a dataset emits about the boxes it dropped or clipped."""
    return (f'{dataset} (ann_file={ann_file}): {log.total()} boxes were dropped or clipped '
            f'at load time: {log.itemized()}')
