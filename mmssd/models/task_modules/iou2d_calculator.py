"""``BboxOverlaps2D``: the assigners' ``iou_calculator`` (:func:`~mmssd.structures.bbox.
bbox_overlaps` as a registered callable, as mmdetection 2.x's)."""
from __future__ import annotations

from torch import Tensor

from mmssd.registry import TASK_UTILS
from mmssd.structures.bbox import bbox_overlaps


@TASK_UTILS.register_module()
class BboxOverlaps2D:
    """Callable wrapper of :func:`~mmssd.structures.bbox.bbox_overlaps`."""

    def __call__(self, bboxes1: Tensor, bboxes2: Tensor, mode: str = 'iou',
                 is_aligned: bool = False) -> Tensor:
        """Overlaps ``(..., M, N)`` of ``bboxes1 (..., M, 4)`` and ``bboxes2 (..., N, 4)``.

        A fifth column (a score) is dropped, as mmdetection does.
        """
        if bboxes1.size(-1) == 5:
            bboxes1 = bboxes1[..., :4]
        if bboxes2.size(-1) == 5:
            bboxes2 = bboxes2[..., :4]
        return bbox_overlaps(bboxes1, bboxes2, mode, is_aligned)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'
