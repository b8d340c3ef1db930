"""Draw detection or ground-truth boxes with class names onto an image."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from mmssd.datasets.pipelines import read_image

from .palette import class_palette

BoxColour = tuple[int, int, int]
FONT = cv2.FONT_HERSHEY_SIMPLEX

#: Pixels of label background above the text's height (``|`` rises one above it).
LABEL_TOP_MARGIN = 2


def _text_colour(background: BoxColour) -> BoxColour:
    """Black on light backgrounds, white on dark ones (BGR luma)."""
    b, g, r = background
    return (0, 0, 0) if 0.114 * b + 0.587 * g + 0.299 * r > 140 else (255, 255, 255)


def label_rect(text: str, x1: int, y1: int, img_width: int,
               font_scale: float) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` (inclusive pixels) of the label of a box at ``(x1, y1)``.

    The label sits just above the box's top-left corner, or inside the box when there is
    no room above; it is shifted left when it would leave the image. It has a margin of
    :data:`LABEL_TOP_MARGIN` px above the text: some glyphs (``|``) rise a pixel above the
    height ``cv2.getTextSize`` gives.
    """
    (tw, th), baseline = cv2.getTextSize(text, FONT, font_scale, 1)
    height = th + baseline + LABEL_TOP_MARGIN + 1
    top = y1 - height if y1 - height >= 0 else y1
    left = min(max(x1, 0), max(img_width - tw - 2, 0))
    return left, top, left + tw + 2, top + height


def _put_label(img: np.ndarray, text: str, x1: int, y1: int, colour: BoxColour,
               font_scale: float) -> None:
    """Write ``text`` on a filled box of ``colour`` just above (or inside) ``(x1, y1)``."""
    left, top, right, bottom = label_rect(text, x1, y1, img.shape[1], font_scale)
    th = cv2.getTextSize(text, FONT, font_scale, 1)[0][1]
    cv2.rectangle(img, (left, top), (right, bottom), colour, -1)
    cv2.putText(img, text, (left + 1, top + th + LABEL_TOP_MARGIN), FONT, font_scale,
                _text_colour(colour), 1, cv2.LINE_AA)


def label_text(class_names: Sequence[str], label: int, score: float | None = None) -> str:
    """``name`` or ``name|score`` (two decimals), as drawn on a box."""
    text = class_names[label] if label < len(class_names) else f'class {label}'
    return text if score is None else f'{text}|{score:.2f}'


def draw_boxes(img: np.ndarray | str, bboxes: np.ndarray, labels: np.ndarray,
               class_names: Sequence[str], score_thr: float = 0.0,
               colours: Sequence[BoxColour] | None = None, thickness: int = 2,
               font_scale: float = 0.45, with_label: bool = True) -> np.ndarray:
    """A copy of ``img`` with the boxes drawn in a colour per class, labelled.

    Args:
        img: (H, W, 3) uint8 BGR image or its path.
        bboxes: (N, 4) ``[x1, y1, x2, y2]`` or (N, 5) with a score column.
        labels: (N,) int class indices into ``class_names``.
        class_names: names of the classes.
        score_thr: boxes with a score below it are left out (only with 5 columns).
        colours: one BGR colour per class; default :func:`class_palette`.
        thickness: box line width in pixels.
        font_scale: OpenCV font scale of the labels.
        with_label: write ``name`` or ``name|score`` on a filled background.

    Returns:
        (H, W, 3) uint8 BGR image.
    """
    canvas = np.ascontiguousarray(read_image(img) if isinstance(img, str) else img.copy())
    bboxes = np.asarray(bboxes, np.float32)
    bboxes = bboxes.reshape(0, 4) if bboxes.size == 0 else bboxes
    labels = np.asarray(labels, np.int64).reshape(-1)
    if len(bboxes) != len(labels):
        raise ValueError(f'draw_boxes: {len(bboxes)} boxes but {len(labels)} labels')
    if bboxes.shape[1] == 5 and score_thr > 0:
        keep = bboxes[:, 4] >= score_thr
        bboxes, labels = bboxes[keep], labels[keep]
    colours = list(colours) if colours is not None else class_palette(len(class_names))
    for box, label in zip(bboxes, labels, strict=True):
        colour = tuple(int(c) for c in colours[label])
        x1, y1, x2, y2 = (int(round(v)) for v in box[:4])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)
        if with_label:
            text = label_text(class_names, int(label),
                              float(box[4]) if box.shape[0] == 5 else None)
            _put_label(canvas, text, x1, y1, colour, font_scale)
    return canvas


def draw_result(img: np.ndarray | str, result: Sequence[np.ndarray],
                class_names: Sequence[str], score_thr: float = 0.3,
                **kwargs) -> np.ndarray:
    """Draw a detector result (per class, an (n, 5) array) onto ``img``; an ``(n, 5)``
    array of an RPN's proposals is drawn as one class, ``proposal``."""
    if isinstance(result, np.ndarray):
        result, class_names = [result], ['proposal']
    bboxes = np.concatenate([np.asarray(r, np.float32).reshape(-1, 5) for r in result])
    labels = np.concatenate([np.full(len(r), i, np.int64) for i, r in enumerate(result)])
    return draw_boxes(img, bboxes, labels, class_names, score_thr=score_thr, **kwargs)
