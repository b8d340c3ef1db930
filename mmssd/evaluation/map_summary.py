"""The per-class table that :func:`mmssd.evaluation.eval_map` logs."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmengine.logging import print_log
from terminaltables import AsciiTable

HEADER = ['class', 'gts', 'dets', 'recall', 'ap']


def _per_scale(value, num_scales: int) -> np.ndarray:
    """A per-class scalar or (S,) array -> (S,) array."""
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (num_scales,))


def _final_recalls(recall: np.ndarray, num_scales: int) -> np.ndarray:
    """Recall after the last detection, per scale -> (S,) (0 without detections)."""
    recall = np.asarray(recall).reshape(num_scales, -1)
    return recall[:, -1] if recall.shape[1] else np.zeros(num_scales)


def map_table(mean_ap: float, results: Sequence[dict], names: Sequence[str],
              scale: int = 0) -> str:
    """AsciiTable ``class | gts | dets | recall | ap`` plus a final ``mAP`` row.

    Args:
        mean_ap: the mAP of this scale.
        results: per class, :func:`~mmssd.evaluation.eval_map`'s dicts.
        names: the class names.
        scale: which scale range of the results to show.
    """
    num_scales = np.size(results[0]['ap']) if results else 1
    rows = [HEADER]
    for name, res in zip(names, results, strict=True):
        gts = int(_per_scale(res['num_gts'], num_scales)[scale])
        recall = _final_recalls(res['recall'], num_scales)[scale]
        ap = _per_scale(res['ap'], num_scales)[scale]
        rows.append([name, gts, res['num_dets'], f'{recall:.3f}', f'{ap:.3f}'])
    rows.append(['mAP', '', '', '', f'{mean_ap:.3f}'])
    table = AsciiTable(rows)
    table.inner_footing_row_border = True
    return table.table


def print_map_summary(mean_ap: float | Sequence[float], results: Sequence[dict],
                      dataset: Sequence[str] | None = None,
                      scale_ranges: Sequence[tuple[float, float]] | None = None,
                      logger=None) -> None:
    """Log the per-class table of an :func:`~mmssd.evaluation.eval_map` result.

    Args:
        mean_ap: the mAP, or one per scale range.
        results: per class, dicts with ``num_gts``, ``num_dets``, ``recall``, ``ap``.
        dataset: class names (default ``'0'``, ``'1'``, ...).
        scale_ranges: the scale ranges, one table each.
        logger: passed to :func:`mmengine.logging.print_log`; ``'silent'`` logs nothing.
    """
    if logger == 'silent':
        return
    names = list(dataset) if dataset is not None else [str(i) for i in range(len(results))]
    if len(names) != len(results):
        raise ValueError(f'{len(names)} class names for {len(results)} classes of results')
    mean_aps = [mean_ap] if np.ndim(mean_ap) == 0 else list(mean_ap)
    for scale, value in enumerate(mean_aps):
        if scale_ranges is not None:
            print_log(f'Scale range {tuple(scale_ranges[scale])}', logger=logger)
        print_log('\n' + map_table(float(value), results, names, scale), logger=logger)
