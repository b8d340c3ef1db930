"""FCOS point targets of a whole batch in one set of tensor operations.

A point of level ``l`` is positive for a GT box when it lies inside the box (or, with
centre sampling, inside the box's centre region of ``radius * stride_l`` around its
centre, cut to the box) and the largest of its four distances to the box's sides lies in
the level's regress range; among several such GTs it takes the one of smallest area
(ties: the lower GT index, as ``Tensor.min`` in mmdetection's per-image code).

Every condition is separable: whether a point's column lies inside a box horizontally,
and its horizontal distances, depend only on ``(image, column, GT)``, the vertical ones
only on ``(image, row, GT)``. Each level therefore computes ``(B, W_l, G)`` and
``(B, H_l, G)`` tests and combines them into one ``(B, H_l, W_l, G)`` bool mask; with the
GTs sorted by area, a point's GT is the first True along ``G``. No Python loop over images
or GT boxes; images with fewer GTs are padded and masked.

Shapes: ``B`` images, ``G`` GTs of the image with the most (padding), ``L`` levels,
``N = sum_l H_l * W_l`` points per image in the order ``(level, H, W)``, ``C`` classes.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from ..task_modules.distance_point_bbox_coder import bbox2distance


class FCOSTargets(NamedTuple):
    """Training targets of a batch.

    Attributes:
        labels: ``(B, N)`` long; the class of positives, ``C`` (background) elsewhere.
        bbox_targets: ``(B, N, 4)`` distances ``[left, top, right, bottom]`` from each
            positive point to its GT's sides (divided by the level's stride with
            ``norm_on_bbox``); zero at background points (mmdetection leaves there the
            distances to GT 0, which no loss reads).
    """

    labels: Tensor
    bbox_targets: Tensor


def fcos_point_targets(mlvl_points: Sequence[Tensor], featmap_sizes: Sequence[tuple[int, int]],
                       strides: Sequence[int], regress_ranges: Sequence[tuple[float, float]],
                       gt_bboxes: Tensor, gt_valid: Tensor, gt_labels: Tensor, num_classes: int,
                       center_sampling: bool = False, center_sample_radius: float = 1.5,
                       norm_on_bbox: bool = False) -> FCOSTargets:
    """FCOS targets of all images at once (mmdetection 2.x's ``FCOSHead.get_targets``).

    Args:
        mlvl_points: per level the points ``(H_l * W_l, 2)`` ``[x, y]``, ordered ``(H, W)``
            (``MlvlPointGenerator``): the same for every image.
        featmap_sizes: per level ``(H_l, W_l)``.
        strides: per level the stride (centre sampling and ``norm_on_bbox``).
        regress_ranges: per level ``(lo, hi)``: a positive's largest distance to its box's
            sides lies in ``[lo, hi]``.
        gt_bboxes: ``(B, G, 4)`` GT boxes, padded.
        gt_valid: ``(B, G)`` bool, True at real GTs.
        gt_labels: ``(B, G)`` long labels in ``[0, C)``.
        num_classes: ``C``, the background label.
        center_sampling: positives only in each GT's centre region.
        center_sample_radius: the centre region's half size in strides.
        norm_on_bbox: divide the distance targets by the level's stride.
    """
    batch_size, num_gts = gt_bboxes.shape[:2]
    num_points = sum(p.size(0) for p in mlvl_points)
    device, dtype = gt_bboxes.device, gt_bboxes.dtype
    labels = torch.full((batch_size, num_points), num_classes, dtype=torch.long, device=device)
    bbox_targets = gt_bboxes.new_zeros((batch_size, num_points, 4))
    if num_gts == 0:
        return FCOSTargets(labels, bbox_targets)
    areas = (gt_bboxes[..., 2] - gt_bboxes[..., 0]) * (gt_bboxes[..., 3] - gt_bboxes[..., 1])
    order = areas.argsort(dim=1, stable=True)  # (B, G): smallest area first, ties by index
    sorted_boxes = gt_bboxes.gather(1, order[..., None].expand(-1, -1, 4))
    sorted_valid = gt_valid.gather(1, order)
    x1, y1, x2, y2 = (sorted_boxes[:, None, :, i] for i in range(4))  # each (B, 1, G)
    start = 0
    for points, (feat_h, feat_w), stride, (lo, hi) in zip(
            mlvl_points, featmap_sizes, strides, regress_ranges, strict=True):
        feat_h, feat_w = int(feat_h), int(feat_w)
        grid = points.to(dtype).view(feat_h, feat_w, 2)
        xs, ys = grid[0, :, 0][None, :, None], grid[:, 0, 1][None, :, None]  # (1, W|H, 1)
        left, right, top, bottom = xs - x1, x2 - xs, ys - y1, y2 - ys  # (B, W|H, G)
        if center_sampling:
            radius = stride * center_sample_radius
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            inside_x = ((xs - torch.maximum(cx - radius, x1) > 0)
                        & (torch.minimum(cx + radius, x2) - xs > 0))
            inside_y = ((ys - torch.maximum(cy - radius, y1) > 0)
                        & (torch.minimum(cy + radius, y2) - ys > 0))
        else:
            inside_x = (left > 0) & (right > 0)
            inside_y = (top > 0) & (bottom > 0)
        # max(l, t, r, b) in [lo, hi]: every distance <= hi and at least one >= lo
        ok_x = inside_x & (left <= hi) & (right <= hi) & sorted_valid[:, None, :]
        ok_y = inside_y & (top <= hi) & (bottom <= hi)
        reach_x = (left >= lo) | (right >= lo)
        reach_y = (top >= lo) | (bottom >= lo)
        mask = (ok_y[:, :, None] & ok_x[:, None]
                & (reach_y[:, :, None] | reach_x[:, None]))  # (B, H, W, G)
        found, first = mask.view(batch_size, feat_h * feat_w, num_gts).to(torch.uint8).max(-1)
        gt_inds = order.gather(1, first)  # (B, H * W) original GT index
        found = found.bool()
        level_labels = torch.where(found, gt_labels.gather(1, gt_inds), num_classes)
        boxes = gt_bboxes.gather(1, gt_inds[..., None].expand(-1, -1, 4))
        dist = bbox2distance(points.to(dtype), boxes) * found[..., None]
        if norm_on_bbox:
            dist = dist / stride
        end = start + feat_h * feat_w
        labels[:, start:end] = level_labels
        bbox_targets[:, start:end] = dist
        start = end
    return FCOSTargets(labels, bbox_targets)
