"""Show or save a detector's result drawn on its image (mmdetection's ``show_result_pyplot``)."""
from __future__ import annotations

from collections.abc import Sequence

import mmcv
import numpy as np
from torch import nn

from mmssd.visualization import draw_result


def show_result_pyplot(model: nn.Module, img: str | np.ndarray, result: Sequence[np.ndarray],
                       score_thr: float = 0.3, title: str = 'result',
                       out_file: str | None = None, show: bool = True) -> np.ndarray:
    """Draw ``result`` (per class, ``(n, 5)`` arrays) on ``img`` with ``model.CLASSES``.

    Boxes scoring below ``score_thr`` are left out; each class has its own colour and
    every box a ``name|score`` label on a filled background.

    Args:
        model: the detector (for ``CLASSES``).
        img: (H, W, 3) uint8 BGR image or its path.
        result: the output of :func:`inference_detector` for this image.
        score_thr: smallest score drawn.
        title: figure title when shown.
        out_file: if given, the drawn image is written there (format from the extension).
        show: open a matplotlib window (needs an interactive backend).

    Returns:
        The drawn (H, W, 3) uint8 BGR image.
    """
    drawn = draw_result(img, result, model.CLASSES, score_thr=score_thr)
    if out_file is not None:
        mmcv.imwrite(drawn, out_file)
    if show:
        import matplotlib.pyplot as plt

        plt.figure(title)
        plt.imshow(mmcv.bgr2rgb(drawn))
        plt.title(title)
        plt.axis('off')
        plt.tight_layout()
        plt.show()
    return drawn
