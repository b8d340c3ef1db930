"""``Mosaic``: four images on one canvas around a random centre (YOLOX, mmdetection 2.x)."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy import random
from torch.utils.data import Dataset

from mmssd.registry import TRANSFORMS

from .common import box_filter, check_pair, find_inside_bboxes, label_key, select_boxes

#: Quadrants in the order of the images: the sample itself, then its three mix results.
QUADRANTS = ('top_left', 'top_right', 'bottom_left', 'bottom_right')


def keep_ratio_size(img_hw: tuple[int, int], scale_hw: tuple[int, int]
                    ) -> tuple[tuple[int, int], float]:
    """The ``(w, h)`` an image of ``img_hw`` takes when scaled by ``r = min(h_s / h,
    w_s / w)`` to fit ``scale_hw``: ``(int(w r), int(h r))``, and ``r``."""
    h, w = img_hw
    ratio = min(scale_hw[0] / h, scale_hw[1] / w)
    return (int(w * ratio), int(h * ratio)), ratio


def resize_keep_ratio(img: np.ndarray, scale_hw: tuple[int, int]) -> tuple[np.ndarray, float]:
    """``img`` scaled by ``r = min(h_s / h, w_s / w)`` to ``(int(h r), int(w r))`` (bilinear,
    mmcv's ``imresize``); returns the image and ``r``."""
    size, ratio = keep_ratio_size(img.shape[:2], scale_hw)
    if size != img.shape[1::-1]:
        img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
    return img, ratio


def paste_resized(img: np.ndarray, size_wh: tuple[int, int], crop: tuple[int, ...],
                  dst: np.ndarray) -> None:
    """``dst[...] = resize(img, size_wh)[crop]``, ``crop`` (x1, y1, x2, y2) of the resized
    image (bilinear, as :func:`resize_keep_ratio`; no resize when ``img`` has that size).

    When ``crop`` is the whole resized image and ``dst`` (a view into a canvas, say) has its
    shape and dtype, ``cv2.resize`` writes straight into ``dst``: the same pixels, without
    the intermediate image and its copy.
    """
    if size_wh == img.shape[1::-1]:
        dst[...] = img[crop[1]:crop[3], crop[0]:crop[2]]
        return
    direct = (crop == (0, 0, *size_wh) and dst.shape[:2] == (size_wh[1], size_wh[0])
              and dst.dtype == img.dtype and dst.shape[2:] == img.shape[2:]
              and (img.ndim == 2 or img.shape[2] > 1))  # cv2 drops a single channel axis
    if direct:
        out = cv2.resize(img, size_wh, dst=dst, interpolation=cv2.INTER_LINEAR)
        if np.may_share_memory(out, dst):
            return
    resized = cv2.resize(img, size_wh, interpolation=cv2.INTER_LINEAR)
    dst[...] = resized[crop[1]:crop[3], crop[0]:crop[2]]


def fill_outside(canvas: np.ndarray, region: tuple[int, ...], inner: tuple[int, ...],
                 value: np.ndarray) -> None:
    """Set ``value`` in the ``region`` (x1, y1, x2, y2) of ``canvas`` except ``inner``
    (x1, y1, x2, y2), a rectangle inside ``region``: the four strips around it."""
    x1, y1, x2, y2 = region
    ix1, iy1, ix2, iy2 = inner
    canvas[y1:iy1, x1:x2] = value
    canvas[iy2:y2, x1:x2] = value
    canvas[iy1:iy2, x1:ix1] = value
    canvas[iy1:iy2, ix2:x2] = value


def mosaic_placement(quadrant: str, center_xy: tuple[int, int], img_wh: tuple[int, int],
                     canvas_wh: tuple[int, int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Where an image of size ``img_wh`` goes in ``quadrant`` around ``center_xy``.

    The image's corner touches the centre (its bottom-right corner for ``top_left``, ...)
    and the part outside the ``canvas_wh`` canvas is cut off. Returns ``paste`` (x1, y1,
    x2, y2) in the canvas and ``crop`` (x1, y1, x2, y2) in the image, of the same size.
    """
    cx, cy = center_xy
    w, h = img_wh
    cw, ch = canvas_wh
    if quadrant == 'top_left':
        paste = (max(cx - w, 0), max(cy - h, 0), cx, cy)
        crop = (w - (paste[2] - paste[0]), h - (paste[3] - paste[1]), w, h)
    elif quadrant == 'top_right':
        paste = (cx, max(cy - h, 0), min(cx + w, cw), cy)
        crop = (0, h - (paste[3] - paste[1]), min(w, paste[2] - paste[0]), h)
    elif quadrant == 'bottom_left':
        paste = (max(cx - w, 0), cy, cx, min(ch, cy + h))
        crop = (w - (paste[2] - paste[0]), 0, w, min(paste[3] - paste[1], h))
    elif quadrant == 'bottom_right':
        paste = (cx, cy, min(cx + w, cw), min(ch, cy + h))
        crop = (0, 0, min(w, paste[2] - paste[0]), min(paste[3] - paste[1], h))
    else:
        raise ValueError(f'quadrant must be one of {QUADRANTS}; got {quadrant!r}')
    return paste, crop


@TRANSFORMS.register_module()
class Mosaic:
    """Four images on a ``(2 h, 2 w)`` canvas (mmdetection 2.x ``Mosaic``).

    The sample goes to the top-left quadrant of a random centre
    ``(uniform(*center_ratio_range) * w, uniform(*center_ratio_range) * h)``, its three
    ``mix_results`` (from :meth:`get_indexes`, through ``MultiImageMixDataset``) to the
    top-right, bottom-left and bottom-right; each is first scaled to fit ``img_scale``
    keeping its ratio, and cut at the canvas border. Every key of ``bbox_fields`` (with
    its labels: ``gt_bboxes``/``gt_labels``, ``gt_bboxes_ignore``/``gt_labels_ignore``)
    is scaled, shifted and concatenated, clipped to the canvas with
    ``bbox_clip_border``, filtered (``skip_filter=False``) and boxes wholly outside
    dropped. The output image is ``(2 h, 2 w, 3)``, ``pad_val`` where nothing is pasted.

    Random draws (numpy global RNG): ``uniform(0, 1)`` against ``prob``; the centre's x
    then y; :meth:`get_indexes` draws three ``randint(0, len(dataset))``.

    Args:
        img_scale: ``(h, w)`` of one quadrant (mmdetection 2.x's order).
        center_ratio_range: range of the centre, in units of ``img_scale``.
        min_bbox_size: with ``skip_filter=False``, boxes not wider and taller are dropped.
        bbox_clip_border: clip boxes to the canvas.
        skip_filter: skip the box filter (mmdetection's default).
        pad_val: value of the canvas where no image lands.
        prob: probability of applying the mosaic.
    """

    def __init__(self, img_scale: Sequence[int] = (640, 640),
                 center_ratio_range: tuple[float, float] = (0.5, 1.5),
                 min_bbox_size: float = 0, bbox_clip_border: bool = True,
                 skip_filter: bool = True, pad_val: float = 114, prob: float = 1.0) -> None:
        self.img_scale = check_pair(img_scale, 'Mosaic: `img_scale`')
        if not 0 <= prob <= 1:
            raise ValueError(f'Mosaic: `prob` must be in [0, 1]; got {prob!r}')
        self.center_ratio_range = tuple(center_ratio_range)
        self.min_bbox_size = min_bbox_size
        self.bbox_clip_border = bbox_clip_border
        self.skip_filter = skip_filter
        self.pad_val = pad_val
        self.prob = prob

    def get_indexes(self, dataset: Dataset) -> list[int]:
        """Three random indices of ``dataset``: the other quadrants."""
        return [random.randint(0, len(dataset)) for _ in range(3)]

    def __call__(self, results: dict) -> dict:
        if random.uniform(0, 1) > self.prob:
            return results
        h, w = self.img_scale
        center = (int(random.uniform(*self.center_ratio_range) * w),
                  int(random.uniform(*self.center_ratio_range) * h))
        return self.apply(results, center)

    def apply(self, results: dict, center_xy: tuple[int, int]) -> dict:
        """The mosaic around ``center_xy`` (canvas pixels); no random draws."""
        mix = results.get('mix_results')
        if mix is None or len(mix) != 3:
            raise KeyError('Mosaic needs results["mix_results"] with 3 samples; wrap the '
                           "dataset in dict(type='MultiImageMixDataset', dataset=..., "
                           'pipeline=[dict(type=\'Mosaic\', ...), ...])')
        h, w = self.img_scale
        img0 = results['img']
        cx, cy = center_xy
        shape = (2 * h, 2 * w, *img0.shape[2:])
        # a centre on the canvas: the four pastes lie in their quadrants around it, and only
        # the strips they leave uncovered are filled
        strips = 0 <= cx <= 2 * w and 0 <= cy <= 2 * h
        if strips:
            canvas = np.empty(shape, img0.dtype)
            fill = np.full(np.shape(self.pad_val), self.pad_val, img0.dtype)  # as np.full casts
        else:
            canvas = np.full(shape, self.pad_val, dtype=img0.dtype)
        regions = ((0, 0, cx, cy), (cx, 0, 2 * w, cy), (0, cy, cx, 2 * h), (cx, cy, 2 * w, 2 * h))
        keys = list(results.get('bbox_fields', ['gt_bboxes']))
        boxes: dict[str, list] = {k: [] for k in keys}
        labels: dict[str, list] = {k: [] for k in keys}
        for quadrant, region, patch in zip(QUADRANTS, regions, [results, *mix], strict=True):
            size, ratio = keep_ratio_size(patch['img'].shape[:2], self.img_scale)
            paste, crop = mosaic_placement(quadrant, center_xy, size, (2 * w, 2 * h))
            paste_resized(patch['img'], size, crop,
                          canvas[paste[1]:paste[3], paste[0]:paste[2]])
            if strips:
                fill_outside(canvas, region, paste, fill)
            shift = np.array([paste[0] - crop[0], paste[1] - crop[1]] * 2, np.float32)
            for key in keys:
                b = np.asarray(patch.get(key, np.zeros((0, 4))), np.float32).reshape(-1, 4)
                boxes[key].append(b * np.float32(ratio) + shift)
                lab = patch.get(label_key(key))
                labels[key].append(np.zeros(len(b), np.int64) if lab is None else lab)
        for key in keys:
            bboxes = np.concatenate(boxes[key]).astype(np.float32)
            if self.bbox_clip_border:
                bboxes[:, 0::2] = np.clip(bboxes[:, 0::2], 0, 2 * w)
                bboxes[:, 1::2] = np.clip(bboxes[:, 1::2], 0, 2 * h)
            results[key] = bboxes
            if label_key(key) in results:
                results[label_key(key)] = np.concatenate(labels[key]).astype(np.int64)
            keep = find_inside_bboxes(bboxes, 2 * h, 2 * w)
            if not self.skip_filter:
                keep &= box_filter(bboxes, bboxes, self.min_bbox_size, 0.0, np.inf)
            select_boxes(results, key, keep)
        results['img'] = canvas
        results['img_shape'] = canvas.shape
        results['pad_shape'] = canvas.shape
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(img_scale={self.img_scale}, center_ratio_range='
                f'{self.center_ratio_range}, pad_val={self.pad_val}, prob={self.prob})')
