"""``FilterAnnotations``: drop boxes below a size (mmdetection 2.x)."""
from __future__ import annotations

import numpy as np

from mmssd.registry import TRANSFORMS

from .common import check_pair, select_boxes


@TRANSFORMS.register_module()
class FilterAnnotations:
    """Keep the ``gt_bboxes`` (and ``gt_labels``) wider than ``min_gt_bbox_wh[0]`` and
    taller than ``min_gt_bbox_wh[1]``.

    When none is left, the sample is dropped (``None``: the dataset draws another) with
    ``keep_empty=True``, mmdetection 2.x's meaning of the flag, or kept unchanged with
    ``keep_empty=False``. A sample without boxes passes unchanged. Ignored boxes are not
    filtered. No random draws.

    Args:
        min_gt_bbox_wh: minimum ``(w, h)`` in pixels (exclusive).
        keep_empty: see above.
        by_box: filter by box size (the only criterion of a box-only detector).
    """

    def __init__(self, min_gt_bbox_wh: tuple[float, float] = (1.0, 1.0),
                 keep_empty: bool = True, by_box: bool = True, by_mask: bool = False,
                 min_gt_mask_area: int = 1) -> None:
        if by_mask:
            raise NotImplementedError('FilterAnnotations: by_mask is not supported by mmssd '
                                      '(box detection only)')
        if not isinstance(min_gt_bbox_wh, (tuple, list)) or len(min_gt_bbox_wh) != 2:
            check_pair(min_gt_bbox_wh, 'FilterAnnotations: `min_gt_bbox_wh`')
        self.min_gt_bbox_wh = tuple(min_gt_bbox_wh)
        self.keep_empty = keep_empty
        self.by_box = by_box

    def __call__(self, results: dict) -> dict | None:
        bboxes = results['gt_bboxes']
        if len(bboxes) == 0 or not self.by_box:
            return results
        w, h = bboxes[:, 2] - bboxes[:, 0], bboxes[:, 3] - bboxes[:, 1]
        keep = (w > self.min_gt_bbox_wh[0]) & (h > self.min_gt_bbox_wh[1])
        if not keep.any():
            return None if self.keep_empty else results
        select_boxes(results, 'gt_bboxes', np.asarray(keep))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_gt_bbox_wh={self.min_gt_bbox_wh}, '
                f'keep_empty={self.keep_empty})')
