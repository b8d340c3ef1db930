"""Numpy box helpers shared by the transforms (boxes are (N, 4) xyxy in pixels)."""
from __future__ import annotations

import numpy as np
import torch


def bbox_overlaps(boxes1: np.ndarray, boxes2: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """IoU of every box in ``boxes1`` (N, 4) with every box in ``boxes2`` (M, 4) -> (N, M)."""
    boxes1 = np.asarray(boxes1, np.float32).reshape(-1, 4)
    boxes2 = np.asarray(boxes2, np.float32).reshape(-1, 4)
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = np.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = np.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = np.maximum(area1[:, None] + area2[None, :] - inter, eps)
    return inter / union


def bbox_flip(bboxes: np.ndarray | torch.Tensor, img_shape: tuple,
              direction: str) -> np.ndarray | torch.Tensor:
    """Flip (..., 4k) xyxy boxes inside an image of ``img_shape`` (H, W, ...).

    ``direction`` is ``'horizontal'``, ``'vertical'`` or ``'diagonal'`` (both). Numpy
    arrays (the pipeline's ``RandomFlip``) or tensors (test-time augmentation mapping
    boxes back); a new array or tensor of the same type.
    """
    if bboxes.shape[-1] % 4 != 0:
        raise ValueError(f'boxes must have 4k columns; got shape {tuple(bboxes.shape)}')
    flipped = bboxes.clone() if isinstance(bboxes, torch.Tensor) else bboxes.copy()
    h, w = img_shape[:2]
    if direction in ('horizontal', 'diagonal'):
        flipped[..., 0::4] = w - bboxes[..., 2::4]
        flipped[..., 2::4] = w - bboxes[..., 0::4]
    if direction in ('vertical', 'diagonal'):
        flipped[..., 1::4] = h - bboxes[..., 3::4]
        flipped[..., 3::4] = h - bboxes[..., 1::4]
    if direction not in ('horizontal', 'vertical', 'diagonal'):
        raise ValueError(f"flip direction must be 'horizontal', 'vertical' or 'diagonal'; "
                         f'got {direction!r}')
    return flipped
