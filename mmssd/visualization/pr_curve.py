"""Precision-recall curves per class from a COCO evaluation (``COCOeval.eval['precision']``)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: IoU thresholds drawn as their own curve when the evaluation has them.
CURVE_IOUS = (0.5, 0.75)


def class_pr_curves(precision: np.ndarray, iou_thrs: Sequence[float], k: int
                    ) -> dict[str, np.ndarray]:
    """Curves of class ``k``: ``{'IoU=0.50': (R,), ..., 'IoU=0.50:0.95': (R,)}``.

    Args:
        precision: ``COCOeval.eval['precision']``, shape (T, R, K, A, M): IoU thresholds,
            recall thresholds, classes, area ranges, max detections; -1 where a class has no
            ground truth. Area range 0 (all) and the last max-detections entry are used.
        iou_thrs: the T IoU thresholds.
        k: the class index.

    Returns:
        Precision at each recall threshold (``nan`` where undefined); empty if the class
        has no ground truth.
    """
    per_iou = precision[:, :, k, 0, -1].astype(np.float64)
    if (per_iou < 0).all():
        return {}
    per_iou = np.where(per_iou < 0, np.nan, per_iou)
    curves = {}
    for iou in CURVE_IOUS:
        hit = np.flatnonzero(np.isclose(iou_thrs, iou))
        if hit.size:
            curves[f'IoU={iou:.2f}'] = per_iou[hit[0]]
    curves[f'IoU={min(iou_thrs):.2f}:{max(iou_thrs):.2f}'] = np.nanmean(per_iou, axis=0)
    return curves


def plot_pr_curves(precision: np.ndarray, class_names: Sequence[str],
                   iou_thrs: Sequence[float], rec_thrs: Sequence[float], out_file: str) -> None:
    """Save one panel per class to ``out_file``: precision against recall at IoU 0.50,
    0.75 and averaged over all IoU thresholds, each labelled with its AP (the mean of the
    curve, as COCO computes AP). Shapes as in :func:`class_pr_curves`."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    num = len(class_names)
    if precision.shape[2] != num:
        raise ValueError(f'precision has {precision.shape[2]} classes but {num} class names '
                         'were given')
    cols = min(4, num)
    rows = math.ceil(num / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), dpi=100,
                             squeeze=False)
    recall = np.asarray(rec_thrs, np.float64)
    for k, ax in enumerate(axes.ravel()):
        if k >= num:
            ax.axis('off')
            continue
        curves = class_pr_curves(precision, iou_thrs, k)
        for label, curve in curves.items():
            ax.plot(recall, curve, label=f'{label} AP {np.nanmean(curve):.3f}')
        if not curves:
            ax.text(0.5, 0.5, 'no ground truth', ha='center', va='center')
        ax.set_title(class_names[k])
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel('recall')
        ax.set_ylabel('precision')
        ax.grid(alpha=0.3)
        if curves:
            ax.legend(fontsize=7, loc='lower left')
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)
