"""Boxes of test-time augmentations mapped to and from the original image, and merged.

mmdetection 2.x's ``core/post_processing/merge_augs.py`` and ``bbox_mapping`` /
``bbox_mapping_back``: an augmentation (one entry of ``MultiScaleFlipAug``) resizes the
original image by its meta's ``scale_factor`` ``[w, h, w, h]`` and then flips the resized
``img_shape`` along ``flip_direction`` when ``flip``; mapping back un-flips, then
un-scales. The flip itself is :func:`bbox_flip`, the one the pipeline's ``RandomFlip``
uses.

Shapes: ``n`` boxes, ``C`` foreground classes; boxes are ``(n, 4k)`` ``[x1, y1, x2, y2]``
repeated ``k`` times (``k = 1``: class-agnostic; ``k = C``: one box per class).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torchvision.ops import nms

from mmssd.structures.bbox import bbox_flip

from ..utils.scale_factors import scale_factors_tensor

#: meta keys every augmentation's ``img_metas`` needs for its boxes to be mapped
AUG_META_KEYS = ('img_shape', 'scale_factor', 'flip', 'flip_direction')


def _aug_params(img_meta: dict) -> tuple[tuple, object, str | None]:
    """``(img_shape, scale_factor, flip direction or None)`` of one augmentation's meta."""
    missing = [key for key in AUG_META_KEYS[:3] if key not in img_meta]
    if missing:
        raise KeyError(f'test-time augmentation needs {list(AUG_META_KEYS)} in every '
                       f'img_meta (Collect meta_keys); missing {missing}, got {sorted(img_meta)}')
    direction = img_meta.get('flip_direction') or 'horizontal'
    return img_meta['img_shape'], img_meta['scale_factor'], direction if img_meta['flip'] else None


def _scale(bboxes: Tensor, scale_factor, inverse: bool) -> Tensor:
    """``(n, 4k)`` boxes multiplied (or, with ``inverse``, divided) by ``[w, h, w, h]``."""
    factor = scale_factors_tensor([{'scale_factor': scale_factor}], bboxes)[0]  # (1, 4)
    shaped = bboxes.reshape(bboxes.size(0), -1, 4)
    shaped = shaped / factor if inverse else shaped * factor
    return shaped.reshape(bboxes.shape)


def bbox_mapping(bboxes: Tensor, img_meta: dict) -> Tensor:
    """``(n, 4k)`` boxes in original image pixels -> the augmentation's input pixels
    (scaled by ``scale_factor``, then flipped inside ``img_shape`` when ``flip``)."""
    img_shape, scale_factor, direction = _aug_params(img_meta)
    bboxes = _scale(bboxes, scale_factor, inverse=False)
    return bboxes if direction is None else bbox_flip(bboxes, img_shape, direction)


def bbox_mapping_back(bboxes: Tensor, img_meta: dict) -> Tensor:
    """``(n, 4k)`` boxes in the augmentation's input pixels -> original image pixels
    (un-flipped inside ``img_shape`` when ``flip``, then divided by ``scale_factor``);
    the inverse of :func:`bbox_mapping`."""
    img_shape, scale_factor, direction = _aug_params(img_meta)
    if direction is not None:
        bboxes = bbox_flip(bboxes, img_shape, direction)
    return _scale(bboxes, scale_factor, inverse=True)


def merge_aug_proposals(aug_proposals: Sequence[Tensor], img_metas: Sequence[dict],
                        iou_threshold: float, max_per_img: int) -> Tensor:
    """One image's proposals of every augmentation merged (mmdetection 2.x semantics).

    Each augmentation's ``(n_a, 5)`` ``[x1, y1, x2, y2, score]`` proposals are mapped back
    to original image pixels and concatenated; one class-agnostic NMS at ``iou_threshold``
    keeps the best ``max_per_img`` (``<= 0``: all), by decreasing score.

    Args:
        aug_proposals: per augmentation, ``(n_a, 5)`` in that augmentation's pixels.
        img_metas: per augmentation, this image's meta dict.
        iou_threshold: NMS threshold (the RPN test config's ``nms.iou_threshold``).
        max_per_img: proposals kept (its ``max_per_img``).

    Returns:
        ``(m, 5)`` proposals in original image pixels.
    """
    if len(aug_proposals) != len(img_metas):
        raise ValueError(f'{len(aug_proposals)} augmentations of proposals but '
                         f'{len(img_metas)} img_metas')
    recovered = [torch.cat([bbox_mapping_back(p[:, :4], meta), p[:, 4:5]], dim=1)
                 for p, meta in zip(aug_proposals, img_metas, strict=True)]
    proposals = torch.cat(recovered, dim=0)
    keep = nms(proposals[:, :4].float(), proposals[:, 4].float(), iou_threshold)
    if max_per_img > 0:
        keep = keep[:max_per_img]
    return proposals[keep]


def merge_aug_bboxes(aug_bboxes: Sequence[Tensor], aug_scores: Sequence[Tensor] | None,
                     img_metas: Sequence[dict]) -> Tensor | tuple[Tensor, Tensor]:
    """One image's boxes of the same ``n`` RoIs under every augmentation, averaged
    (mmdetection 2.x's ``merge_aug_bboxes``, used by the RoI heads).

    Args:
        aug_bboxes: per augmentation ``(n, 4k)`` boxes in that augmentation's pixels.
        aug_scores: per augmentation ``(n, C + 1)`` scores, or None.
        img_metas: per augmentation, this image's meta dict.

    Returns:
        The mean over augmentations of the boxes mapped back to original image pixels
        ``(n, 4k)``, and with ``aug_scores`` the mean scores ``(n, C + 1)``.
    """
    if len(aug_bboxes) != len(img_metas):
        raise ValueError(f'{len(aug_bboxes)} augmentations of boxes but {len(img_metas)} '
                         'img_metas')
    bboxes = torch.stack([bbox_mapping_back(b, meta)
                          for b, meta in zip(aug_bboxes, img_metas, strict=True)]).mean(dim=0)
    if aug_scores is None:
        return bboxes
    return bboxes, torch.stack(list(aug_scores)).mean(dim=0)


def concat_aug_bboxes(aug_bboxes: Sequence[Tensor], aug_scores: Sequence[Tensor],
                      img_metas: Sequence[dict]) -> tuple[Tensor, Tensor]:
    """One image's candidate boxes of every augmentation mapped back to original image
    pixels and concatenated, for one NMS over all of them (mmdetection 2.x's dense-head
    ``BBoxTestMixin.merge_aug_bboxes``).

    Args:
        aug_bboxes: per augmentation ``(n_a, 4)`` candidates in that augmentation's pixels.
        aug_scores: per augmentation ``(n_a, C + 1)`` their scores.
        img_metas: per augmentation, this image's meta dict.

    Returns:
        ``bboxes (sum_a n_a, 4)`` and ``scores (sum_a n_a, C + 1)``.
    """
    if not len(aug_bboxes) == len(aug_scores) == len(img_metas):
        raise ValueError(f'{len(aug_bboxes)} augmentations of boxes, {len(aug_scores)} of '
                         f'scores and {len(img_metas)} img_metas')
    bboxes = [bbox_mapping_back(b, meta) for b, meta in zip(aug_bboxes, img_metas, strict=True)]
    return torch.cat(bboxes, dim=0), torch.cat(list(aug_scores), dim=0)


def per_image_metas(img_metas: Sequence[Sequence[dict]]) -> list[list[dict]]:
    """Metas of a test-time-augmented batch, ``[aug][image]`` -> ``[image][aug]``."""
    num_imgs = {len(metas) for metas in img_metas}
    if len(num_imgs) != 1:
        raise ValueError(f'every augmentation needs the same number of image metas, got '
                         f'{[len(metas) for metas in img_metas]}')
    return [list(metas) for metas in zip(*img_metas, strict=True)]
