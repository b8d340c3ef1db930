"""``MixUp``: blend the sample with another, scaled and cropped (YOLOX, mmdetection 2.x)."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy import random
from torch.utils.data import Dataset

from mmssd.registry import TRANSFORMS

from .common import box_filter, check_pair, find_inside_bboxes, label_key, select_boxes
from .flip import flip_image
from .mosaic import fill_outside, keep_ratio_size, paste_resized, resize_keep_ratio


def blend_half(img_a: np.ndarray, img_b: np.ndarray) -> np.ndarray:
    """``0.5 * a + 0.5 * b`` truncated to ``a``'s dtype (mmdetection's float32 sum, then
    ``astype``); for uint8 exactly ``(a + b) >> 1``.

    Two uint8 images of one shape are blended by ``cv2.addWeighted(a, 0.5, b, 0.5, -0.25)``
    in one pass: ``(a + b) / 2 - 1 / 4`` is exact in float32 and never halfway between two
    integers, so rounding it to the nearest gives ``(a + b) >> 1`` (tested for every pair).
    """
    if img_a.dtype == np.uint8 and img_b.dtype == np.uint8:
        channels = img_a.shape[2] if img_a.ndim == 3 else 1
        if img_a.shape == img_b.shape and img_a.size and img_a.ndim <= 3 and channels <= 4:
            return cv2.addWeighted(img_a, 0.5, img_b, 0.5, -0.25).reshape(img_a.shape)
        return (np.add(img_a, img_b, dtype=np.uint16) >> 1).astype(np.uint8)
    mixed = 0.5 * img_a.astype(np.float32) + 0.5 * img_b.astype(np.float32)
    return mixed.astype(img_a.dtype)


@TRANSFORMS.register_module()
class MixUp:
    """Blend the sample with one other image (mmdetection 2.x ``MixUp``).

    The other image (``mix_results[0]``, from :meth:`get_indexes`) is scaled to fit
    ``img_scale`` keeping its ratio, pasted at the top-left of a ``pad_val`` canvas of
    that size, the canvas scaled by a jitter factor, flipped horizontally, and a window
    of the sample's size cut from it at a random offset; the output is ``0.5 * sample +
    0.5 * window`` (:func:`blend_half`) with the union of both boxes. The other image's
    boxes (every key of ``bbox_fields``, with labels) follow it: scaled, clipped, flipped,
    shifted and clipped to the window; with ``skip_filter=False`` the filter of
    ``RandomAffine`` drops some; boxes wholly outside are dropped. An other image without
    ``gt_bboxes`` leaves the sample unchanged.

    Random draws (numpy global RNG, in order): jitter ``uniform(*ratio_range)``; flip
    ``uniform(0, 1) > flip_ratio`` (mmdetection's test); ``randint`` of the y offset, then
    of the x offset, each only when the scaled canvas exceeds the sample there.
    :meth:`get_indexes`: up to ``max_iters`` ``randint(0, len(dataset))`` until an image
    with boxes.

    Args:
        img_scale: ``(h, w)`` the other image is fitted to (mmdetection 2.x's order).
        ratio_range: range of the scale jitter.
        flip_ratio: mmdetection's flip threshold (see above).
        pad_val: canvas value.
        max_iters: tries of :meth:`get_indexes` to find an image with boxes.
        min_bbox_size, min_area_ratio, max_aspect_ratio: box filter (``skip_filter=False``).
        bbox_clip_border: clip boxes to the images.
        skip_filter: skip the box filter (mmdetection's default).
    """

    def __init__(self, img_scale: Sequence[int] = (640, 640),
                 ratio_range: tuple[float, float] = (0.5, 1.5), flip_ratio: float = 0.5,
                 pad_val: float = 114, max_iters: int = 15, min_bbox_size: float = 5,
                 min_area_ratio: float = 0.2, max_aspect_ratio: float = 20,
                 bbox_clip_border: bool = True, skip_filter: bool = True) -> None:
        self.img_scale = check_pair(img_scale, 'MixUp: `img_scale`')
        self.ratio_range = tuple(ratio_range)
        self.flip_ratio = flip_ratio
        self.pad_val = pad_val
        self.max_iters = max_iters
        self.min_bbox_size = min_bbox_size
        self.min_area_ratio = min_area_ratio
        self.max_aspect_ratio = max_aspect_ratio
        self.bbox_clip_border = bbox_clip_border
        self.skip_filter = skip_filter

    def get_indexes(self, dataset: Dataset) -> int:
        """A random index of ``dataset``, of an image with boxes when one is found within
        ``max_iters`` draws (read from ``get_ann_info``, without loading the image)."""
        index = 0
        for _ in range(self.max_iters):
            index = random.randint(0, len(dataset))
            if len(dataset.get_ann_info(index)['bboxes']):
                break
        return index

    def __call__(self, results: dict) -> dict:
        mix = results.get('mix_results')
        if mix is None or len(mix) != 1:
            raise KeyError('MixUp needs results["mix_results"] with 1 sample; wrap the '
                           "dataset in dict(type='MultiImageMixDataset', ...)")
        if len(mix[0].get('gt_bboxes', ())) == 0:
            return results
        jitter = random.uniform(*self.ratio_range)
        flip = random.uniform(0, 1) > self.flip_ratio
        canvas, ratio = self.fitted_canvas(mix[0]['img'])
        canvas = cv2.resize(canvas, (int(canvas.shape[1] * jitter), int(canvas.shape[0] * jitter)),
                            interpolation=cv2.INTER_LINEAR).reshape(
            int(canvas.shape[0] * jitter), int(canvas.shape[1] * jitter), *canvas.shape[2:])
        if flip:
            canvas = canvas[:, ::-1]
        origin_h, origin_w = canvas.shape[:2]
        target_h, target_w = results['img'].shape[:2]
        y_off = random.randint(0, origin_h - target_h) if origin_h > target_h else 0
        x_off = random.randint(0, origin_w - target_w) if origin_w > target_w else 0
        return self.apply(results, canvas, ratio * jitter, flip, (x_off, y_off))

    def fitted_canvas(self, img: np.ndarray) -> tuple[np.ndarray, float]:
        """``img`` scaled by ``r`` to fit ``img_scale`` keeping its ratio
        (:func:`resize_keep_ratio`), at the top-left of a ``pad_val`` canvas of size
        ``img_scale``; returns the canvas and ``r``. The image is resized straight into the
        canvas and only the rest is filled."""
        if img.ndim == 3 and img.shape[2] == 1:  # cv2.resize drops the channel axis
            other, ratio = resize_keep_ratio(img, self.img_scale)
            canvas = np.full((*self.img_scale, *other.shape[2:]), self.pad_val, other.dtype)
            canvas[:other.shape[0], :other.shape[1]] = other
            return canvas, ratio
        (w, h), ratio = keep_ratio_size(img.shape[:2], self.img_scale)
        canvas = np.empty((*self.img_scale, *img.shape[2:]), img.dtype)
        paste_resized(img, (w, h), (0, 0, w, h), canvas[:h, :w])
        fill_outside(canvas, (0, 0, self.img_scale[1], self.img_scale[0]), (0, 0, w, h),
                     np.full(np.shape(self.pad_val), self.pad_val, img.dtype))
        return canvas, ratio

    def apply(self, results: dict, canvas: np.ndarray, scale: float, flip: bool,
              offset_xy: tuple[int, int]) -> dict:
        """Blend ``results`` with the window at ``offset_xy`` of ``canvas`` (the other
        image scaled by ``scale`` and flipped when ``flip``); no random draws."""
        mix = results['mix_results'][0]
        origin_h, origin_w = canvas.shape[:2]
        img = results['img']
        target_h, target_w = img.shape[:2]
        x_off, y_off = offset_xy
        part = canvas[y_off:y_off + target_h, x_off:x_off + target_w]
        if part.size and part.strides[1] < 0:  # flipped: numpy copies such views slowly
            part = flip_image(part[:, ::-1], 'horizontal')
        if part.shape == img.shape and part.dtype == img.dtype:
            window = part
        else:
            window = np.zeros_like(img)
            window[:part.shape[0], :part.shape[1]] = part
        results['img'] = blend_half(img, window)
        for key in results.get('bbox_fields', ['gt_bboxes']):
            bboxes = np.asarray(mix.get(key, np.zeros((0, 4))), np.float32).reshape(-1, 4)
            labels = mix.get(label_key(key), np.zeros(len(bboxes), np.int64))
            bboxes = bboxes * np.float32(scale)
            if self.bbox_clip_border:
                bboxes[:, 0::2] = np.clip(bboxes[:, 0::2], 0, origin_w)
                bboxes[:, 1::2] = np.clip(bboxes[:, 1::2], 0, origin_h)
            if flip:
                bboxes[:, 0::2] = origin_w - bboxes[:, 2::-2]
            shifted = bboxes - np.array([x_off, y_off] * 2, np.float32)
            if self.bbox_clip_border:
                shifted[:, 0::2] = np.clip(shifted[:, 0::2], 0, target_w)
                shifted[:, 1::2] = np.clip(shifted[:, 1::2], 0, target_h)
            if not self.skip_filter:
                keep = box_filter(bboxes, shifted, self.min_bbox_size, self.min_area_ratio,
                                  self.max_aspect_ratio)
                shifted, labels = shifted[keep], labels[keep]
            own = np.asarray(results.get(key, np.zeros((0, 4))), np.float32).reshape(-1, 4)
            results[key] = np.concatenate([own, shifted]).astype(np.float32)
            if label_key(key) in results:
                results[label_key(key)] = np.concatenate(
                    [results[label_key(key)], labels]).astype(np.int64)
            select_boxes(results, key, find_inside_bboxes(results[key], target_h, target_w))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(img_scale={self.img_scale}, ratio_range='
                f'{self.ratio_range}, flip_ratio={self.flip_ratio}, pad_val={self.pad_val}, '
                f'max_iters={self.max_iters}, skip_filter={self.skip_filter})')
