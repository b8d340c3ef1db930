"""Encode boxes as (dx, dy, dw, dh) deltas from anchors and decode them back."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from mmssd.registry import TASK_UTILS


def bbox2delta(proposals: Tensor, gt: Tensor, means: Sequence[float] = (0., 0., 0., 0.),
               stds: Sequence[float] = (1., 1., 1., 1.)) -> Tensor:
    """Normalized deltas that turn ``proposals (..., 4)`` into ``gt (..., 4)``.

    Returns ``(..., 4)``: ``((gx - px) / pw, (gy - py) / ph, log(gw / pw), log(gh / ph))``,
    minus ``means``, divided by ``stds``.
    """
    proposals = proposals.float()
    gt = gt.float()
    pxy = (proposals[..., :2] + proposals[..., 2:]) * 0.5
    pwh = proposals[..., 2:] - proposals[..., :2]
    gxy = (gt[..., :2] + gt[..., 2:]) * 0.5
    gwh = gt[..., 2:] - gt[..., :2]
    deltas = torch.cat([(gxy - pxy) / pwh, torch.log(gwh / pwh)], dim=-1)
    return (deltas - deltas.new_tensor(means)) / deltas.new_tensor(stds)


def clip_bboxes(bboxes: Tensor, max_shape: Sequence[int] | Tensor) -> Tensor:
    """Clamp ``bboxes (..., N, 4)`` into ``[0, w] x [0, h]``.

    ``max_shape`` is ``(h, w, ...)`` shared by all boxes, or a tensor ``(..., 2)`` of
    ``(h, w)`` per leading index (for example ``(B, 2)`` for ``bboxes (B, N, 4)``).
    """
    if isinstance(max_shape, Tensor) and max_shape.dim() > 1:
        hw = max_shape[..., :2].to(bboxes)
        upper = torch.stack([hw[..., 1], hw[..., 0], hw[..., 1], hw[..., 0]], dim=-1)
        return torch.min(bboxes.clamp(min=0), upper.unsqueeze(-2))
    h, w = float(max_shape[0]), float(max_shape[1])
    x = bboxes[..., 0::2].clamp(min=0, max=w)
    y = bboxes[..., 1::2].clamp(min=0, max=h)
    return torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], dim=-1)


def delta2bbox(rois: Tensor, deltas: Tensor, means: Sequence[float] = (0., 0., 0., 0.),
               stds: Sequence[float] = (1., 1., 1., 1.),
               max_shape: Sequence[int] | Tensor | None = None,
               wh_ratio_clip: float = 16 / 1000, clip_border: bool = True,
               add_ctr_clamp: bool = False, ctr_clamp: float = 32) -> Tensor:
    """Apply ``deltas (..., 4)`` to ``rois (..., 4)`` (broadcast); returns boxes ``(..., 4)``."""
    denorm = deltas * deltas.new_tensor(stds) + deltas.new_tensor(means)
    dxy, dwh = denorm[..., :2], denorm[..., 2:]
    pxy = (rois[..., :2] + rois[..., 2:]) * 0.5
    pwh = rois[..., 2:] - rois[..., :2]
    dxy_wh = pwh * dxy
    max_ratio = abs(math.log(wh_ratio_clip))
    if add_ctr_clamp:
        dxy_wh = dxy_wh.clamp(min=-ctr_clamp, max=ctr_clamp)
        dwh = dwh.clamp(max=max_ratio)
    else:
        dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    bboxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1)
    if clip_border and max_shape is not None:
        bboxes = clip_bboxes(bboxes, max_shape)
    return bboxes


@TASK_UTILS.register_module()
class DeltaXYWHBBoxCoder:
    """mmdetection's ``DeltaXYWHBBoxCoder``: boxes <-> normalized centre/size deltas.

    Args:
        target_means: means subtracted from the deltas when encoding.
        target_stds: stds the deltas are divided by when encoding.
        clip_border: clip decoded boxes to ``max_shape`` when it is given.
        add_ctr_clamp: clamp the centre shift to ``ctr_clamp`` pixels when decoding.
        ctr_clamp: the centre-shift bound for ``add_ctr_clamp``.
    """

    encode_size = 4

    def __init__(self, target_means: Sequence[float] = (0., 0., 0., 0.),
                 target_stds: Sequence[float] = (1., 1., 1., 1.), clip_border: bool = True,
                 add_ctr_clamp: bool = False, ctr_clamp: float = 32) -> None:
        self.means = tuple(float(m) for m in target_means)
        self.stds = tuple(float(s) for s in target_stds)
        self.clip_border = clip_border
        self.add_ctr_clamp = add_ctr_clamp
        self.ctr_clamp = ctr_clamp

    def encode(self, bboxes: Tensor, gt_bboxes: Tensor) -> Tensor:
        """Deltas ``(..., 4)`` that map ``bboxes (..., 4)`` onto ``gt_bboxes (..., 4)``."""
        if bboxes.shape != gt_bboxes.shape:
            raise ValueError(f'bboxes {tuple(bboxes.shape)} and gt_bboxes '
                             f'{tuple(gt_bboxes.shape)} must have the same shape')
        return bbox2delta(bboxes, gt_bboxes, self.means, self.stds)

    def decode(self, bboxes: Tensor, pred_bboxes: Tensor,
               max_shape: Sequence[int] | Tensor | None = None,
               wh_ratio_clip: float = 16 / 1000) -> Tensor:
        """Boxes ``(..., 4)`` from anchors ``bboxes (..., 4)`` and deltas ``pred_bboxes (..., 4)``.

        ``max_shape``: ``(h, w)`` for all boxes, or a tensor ``(B, 2)`` for ``(B, N, 4)`` input.
        """
        return delta2bbox(bboxes, pred_bboxes, self.means, self.stds, max_shape, wh_ratio_clip,
                          self.clip_border, self.add_ctr_clamp, self.ctr_clamp)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(target_means={self.means}, '
                f'target_stds={self.stds}, clip_border={self.clip_border})')
