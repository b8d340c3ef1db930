"""Geometric transforms of ``[x1, y1, x2, y2]`` boxes, for numpy arrays and tensors."""
from __future__ import annotations

import numpy as np
import torch


def bbox_flip(bboxes: np.ndarray | torch.Tensor, img_shape: tuple,
              direction: str) -> np.ndarray | torch.Tensor:
    """Flip ``(..., 4k)`` boxes inside an image of ``img_shape`` ``(H, W, ...)``.

    ``direction`` is ``'horizontal'``, ``'vertical'`` or ``'diagonal'`` (both). Numpy
    arrays (the pipeline's ``RandomFlip``) or tensors (test-time augmentation mapping
    boxes back); a new array or tensor of the same type.
    """
    if direction not in ('horizontal', 'vertical', 'diagonal'):
        raise ValueError(f"flip direction must be 'horizontal', 'vertical' or 'diagonal'; "
                         f'got {direction!r}')
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
    return flipped
