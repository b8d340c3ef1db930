"""Sliced inference for images much larger than the model's input: detect in overlapping
tiles at their own scale, shift the boxes back, merge them across tiles by per-class NMS.

A detector resizes its input to a fixed scale (192 px for the demo SSD), so a 2000 px
image shrinks ten times and its small objects vanish. Tiles of ``slice_size`` px keep
them near their native size.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mmssd.datasets.pipelines import read_image
from mmssd.models.utils.multiclass_nms import batched_nms

from .inference import DetResult, ImageInput, inference_detector

#: NMS IoU when the model's ``test_cfg`` names no ``nms``.
DEFAULT_IOU = 0.5


def tile_starts(length: int, size: int, stride: int) -> list[int]:
    """Offsets of windows of ``size`` covering ``[0, length)`` every ``stride`` px, the
    last one flush with the end (one window at 0 when ``length <= size``)."""
    if length <= size:
        return [0]
    starts = list(range(0, length - size, stride))
    return [*starts, length - size]


def slice_windows(width: int, height: int, slice_size: int, overlap: float) -> np.ndarray:
    """``(n, 4)`` int64 tiles ``[x1, y1, x2, y2]`` of ``slice_size`` px (clipped to a
    smaller image) overlapping by ``overlap`` of their side, row by row.

    Raises:
        ValueError: ``slice_size < 1`` or ``overlap`` outside ``[0, 1)``.
    """
    if slice_size < 1:
        raise ValueError(f'slice size must be a positive number of pixels, got {slice_size}')
    if not 0 <= overlap < 1:
        raise ValueError(f'slice overlap must be in [0, 1), got {overlap}')
    stride = max(1, int(round(slice_size * (1 - overlap))))
    xs = tile_starts(width, slice_size, stride)
    ys = tile_starts(height, slice_size, stride)
    return np.array([[x, y, min(x + slice_size, width), min(y + slice_size, height)]
                     for y in ys for x in xs], np.int64)


def _nms_cfg(model: nn.Module) -> dict:
    """The ``nms`` of the model's test config (the last stage's), ``type='nms'`` or
    ``'soft_nms'``; IoU :data:`DEFAULT_IOU` when it names none."""
    test_cfg = dict(model.cfg.model.get('test_cfg') or {})
    test_cfg = dict(test_cfg.get('rcnn') or test_cfg)
    return dict(test_cfg.get('nms') or dict(type='nms', iou_threshold=DEFAULT_IOU))


def merge_tile_detections(per_tile: list[DetResult], origins: np.ndarray, nms_cfg: dict,
                          max_per_img: int = -1) -> DetResult:
    """One image's detections from its tiles' (each in tile pixels): shifted by the tile
    ``origins`` ``(n, 2)`` ``[x, y]``, merged by per-class NMS (or soft-NMS) as ``nms_cfg``
    says (:func:`~mmssd.models.utils.multiclass_nms.batched_nms`), the best
    ``max_per_img`` kept (``<= 0``: all). Per class, float32 ``(k, 5)``."""
    num_classes = len(per_tile[0])
    boxes, labels = [], []
    for dets, (x, y) in zip(per_tile, origins, strict=True):
        for label, cls_dets in enumerate(dets):
            if len(cls_dets):
                boxes.append(cls_dets + np.array([x, y, x, y, 0], np.float32))
                labels.append(np.full(len(cls_dets), label, np.int64))
    if not boxes:
        return [np.zeros((0, 5), np.float32) for _ in range(num_classes)]
    all_dets = torch.from_numpy(np.concatenate(boxes))
    all_labels = torch.from_numpy(np.concatenate(labels))
    keep, scores = batched_nms(all_dets[:, :4], all_dets[:, 4], all_labels, nms_cfg,
                               max_per_img, num_classes)
    kept = torch.cat([all_dets[keep, :4], scores[:, None]], 1).numpy()
    kept_labels = all_labels[keep].numpy()
    return [kept[kept_labels == c] for c in range(num_classes)]


def inference_detector_sliced(model: nn.Module, img: ImageInput, slice_size: int = 512,
                              overlap: float = 0.2, batch_size: int = 8,
                              max_per_img: int | None = None) -> DetResult:
    """Detect objects in one (large) image tile by tile.

    Args:
        model: a detector from :func:`~mmssd.apis.init_detector`.
        img: a path or an (H, W, 3) uint8 BGR array.
        slice_size: tile side in px (tiles are clipped to a smaller image).
        overlap: fraction of a tile shared with its neighbour, in ``[0, 1)``; an object is
            whole in some tile when it is at most ``overlap * slice_size`` px across.
        batch_size: tiles per forward pass.
        max_per_img: detections kept for the whole image (``None`` or ``<= 0``: all that
            survive the merge). Each tile keeps the ``max_per_img`` of the model's
            ``test_cfg`` (100 in the two-stage bases); capping the whole image there too
            would bound the recall of a scene of hundreds of objects.

    Returns:
        Per class, float32 ``(n, 5)`` ``[x1, y1, x2, y2, score]`` in the image's pixels,
        merged across tiles by the ``nms`` of the model's ``test_cfg`` (NMS or soft-NMS).
    """
    array = read_image(img) if isinstance(img, str) else img
    if array is None:
        raise FileNotFoundError(f'image file not found or unreadable: {img}')
    height, width = array.shape[:2]
    windows = slice_windows(width, height, slice_size, overlap)
    tiles = [np.ascontiguousarray(array[y1:y2, x1:x2]) for x1, y1, x2, y2 in windows]
    per_tile = inference_detector(model, tiles, batch_size=batch_size)
    return merge_tile_detections(per_tile, windows[:, :2], _nms_cfg(model), max_per_img or -1)
