"""RoIs: the boxes of a batch in one ``(K, 5)`` tensor, ``[batch_index, x1, y1, x2, y2]``."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def bbox2roi(bbox_list: Sequence[Tensor]) -> Tensor:
    """Concatenate per-image boxes into RoIs (mmdetection's ``bbox2roi``).

    Args:
        bbox_list: per image ``(n_i, 4)`` boxes, or ``(n_i, 5)`` with a score column (only
            the first 4 columns are used).

    Returns:
        ``(sum n_i, 5)`` rows ``[i, x1, y1, x2, y2]``, image-major, each image's boxes in
        their order.
    """
    if len(bbox_list) == 0:
        raise ValueError('bbox2roi needs the boxes of at least one image, got an empty list')
    boxes = [b[:, :4] if b.numel() else b.new_zeros((0, 4)) for b in bbox_list]
    counts = torch.tensor([b.size(0) for b in boxes], device=boxes[0].device)
    img_inds = torch.repeat_interleave(
        torch.arange(len(boxes), device=counts.device), counts).to(boxes[0].dtype)
    return torch.cat([img_inds[:, None], torch.cat(boxes, dim=0)], dim=1)


def roi2bbox(rois: Tensor, num_images: int | None = None) -> list[Tensor]:
    """Split RoIs ``(K, 5)`` back into per-image boxes ``(n_i, 4)``.

    Args:
        rois: RoIs as made by :func:`bbox2roi`.
        num_images: return exactly this many entries (images without RoIs get ``(0, 4)``).
            None: as mmdetection, one entry per image index present in ``rois``, in
            increasing order.
    """
    img_inds = rois[:, 0].long()
    if num_images is None:
        present = torch.unique(img_inds, sorted=True).tolist()
    else:
        present = list(range(num_images))
    return [rois[img_inds == i, 1:] for i in present]
