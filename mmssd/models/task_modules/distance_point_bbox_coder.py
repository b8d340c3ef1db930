"""Encode boxes as distances from points to their four sides, and decode them back.

The box representation of anchor-free heads (FCOS) and of GFL: a point ``(x, y)`` and
the distances ``(left, top, right, bottom)`` to the sides of a box around it.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from mmssd.registry import TASK_UTILS

from .delta_xywh_bbox_coder import clip_bboxes


def distance2bbox(points: Tensor, distance: Tensor,
                  max_shape: Sequence[int] | Tensor | None = None) -> Tensor:
    """Boxes ``(..., 4)`` ``[x1, y1, x2, y2]`` from ``points (..., 2)`` and the distances
    ``(..., 4)`` ``[left, top, right, bottom]`` to their sides (broadcast).

    ``max_shape``: ``(h, w)`` to clip all boxes to, or a tensor ``(B, 2)`` of ``(h, w)``
    per image for ``(B, N, 4)`` distances (see :func:`clip_bboxes`); None: no clipping.
    """
    xy = points[..., :2]
    bboxes = torch.cat([xy - distance[..., :2], xy + distance[..., 2:]], dim=-1)
    if max_shape is not None:
        bboxes = clip_bboxes(bboxes, max_shape)
    return bboxes


def bbox2distance(points: Tensor, bbox: Tensor, max_dis: float | None = None,
                  eps: float = 0.1) -> Tensor:
    """Distances ``(..., 4)`` ``[left, top, right, bottom]`` from ``points (..., 2)`` to the
    sides of ``bbox (..., 4)`` (broadcast); negative for a point outside its box.

    With ``max_dis`` they are clamped to ``[0, max_dis - eps]`` (GFL's distribution
    targets, whose last bin is ``max_dis``).
    """
    xy = points[..., :2]
    distance = torch.cat([xy - bbox[..., :2], bbox[..., 2:] - xy], dim=-1)
    if max_dis is not None:
        distance = distance.clamp(min=0, max=max_dis - eps)
    return distance


@TASK_UTILS.register_module()
class DistancePointBBoxCoder:
    """mmdetection's ``DistancePointBBoxCoder``: boxes <-> distances from points.

    Args:
        clip_border: clip decoded boxes to ``max_shape`` when it is given.
    """

    encode_size = 4

    def __init__(self, clip_border: bool = True) -> None:
        self.clip_border = clip_border

    def encode(self, points: Tensor, gt_bboxes: Tensor, max_dis: float | None = None,
               eps: float = 0.1) -> Tensor:
        """Distances ``(..., 4)`` from ``points (..., 2)`` to ``gt_bboxes (..., 4)``
        (:func:`bbox2distance`)."""
        if points.shape[:-1] != gt_bboxes.shape[:-1]:
            raise ValueError(f'points {tuple(points.shape)} and gt_bboxes '
                             f'{tuple(gt_bboxes.shape)} must have the same leading shape')
        if points.size(-1) != 2 or gt_bboxes.size(-1) != 4:
            raise ValueError(f'expected points (..., 2) and gt_bboxes (..., 4), got '
                             f'{tuple(points.shape)} and {tuple(gt_bboxes.shape)}')
        return bbox2distance(points, gt_bboxes, max_dis, eps)

    def decode(self, points: Tensor, pred_bboxes: Tensor,
               max_shape: Sequence[int] | Tensor | None = None) -> Tensor:
        """Boxes ``(..., 4)`` from ``points (..., 2)`` and distances ``pred_bboxes (..., 4)``.

        ``max_shape``: ``(h, w)`` for all boxes, or a tensor ``(B, 2)`` for ``(B, N, 4)``
        input; ignored when ``clip_border`` is False.
        """
        if points.size(-1) != 2 or pred_bboxes.size(-1) != 4:
            raise ValueError(f'expected points (..., 2) and pred_bboxes (..., 4), got '
                             f'{tuple(points.shape)} and {tuple(pred_bboxes.shape)}')
        return distance2bbox(points, pred_bboxes, max_shape if self.clip_border else None)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(clip_border={self.clip_border})'
