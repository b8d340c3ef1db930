"""``RandomCrop``: crop a random window of a fixed or random size (mmdetection 2.x)."""
from __future__ import annotations

import numpy as np

from mmssd.registry import TRANSFORMS

from .common import BBOX2LABEL, check_single_img_field
from .virtual_canvas import crop_pixels

CROP_TYPES = ('absolute', 'absolute_range', 'relative', 'relative_range')


@TRANSFORMS.register_module()
class RandomCrop:
    """Crop a random ``(crop_h, crop_w)`` window of the image.

    The window size comes from ``crop_size`` (h, w) by ``crop_type``:

    - ``'absolute'``: ``(min(h_c, H), min(w_c, W))`` (ints);
    - ``'absolute_range'``: ``crop_size = (lo, hi)`` (ints); each side is uniform in
      ``[min(lo, side), min(hi, side)]``;
    - ``'relative'``: ``(int(H * r_h + 0.5), int(W * r_w + 0.5))``, ratios in (0, 1];
    - ``'relative_range'``: ratios uniform in ``[r, 1]`` per side, then as ``'relative'``.

    The window's top-left corner is uniform over the valid offsets. Boxes of every
    ``bbox_fields`` key are shifted, clipped to the window (``bbox_clip_border``) and
    dropped, with their labels, when they are left with no area. When no ``gt_bboxes``
    survive the sample is dropped (``None``) unless ``allow_negative_crop``.

    Random draws (numpy global RNG, in order): ``randint`` for crop h, then w
    (``'absolute_range'``) or ``rand(2)`` (``'relative_range'``); then ``randint`` for the
    y offset, then x.

    Sets ``img``, ``img_shape``. Accepts a :class:`VirtualCanvas` from ``Expand``.
    """

    accepts_virtual_canvas = True

    def __init__(self, crop_size: tuple[float, float], crop_type: str = 'absolute',
                 allow_negative_crop: bool = False, recompute_bbox: bool = False,
                 bbox_clip_border: bool = True):
        if crop_type not in CROP_TYPES:
            raise ValueError(f'RandomCrop: crop_type must be one of {CROP_TYPES}; '
                             f'got {crop_type!r}')
        if len(crop_size) != 2:
            raise ValueError(f'RandomCrop: crop_size must be (h, w); got {crop_size}')
        if crop_type in ('absolute', 'absolute_range'):
            if not all(isinstance(s, (int, np.integer)) and s > 0 for s in crop_size):
                raise ValueError(f'RandomCrop: {crop_type} crop_size must be positive ints; '
                                 f'got {crop_size}')
            if crop_type == 'absolute_range' and crop_size[0] > crop_size[1]:
                raise ValueError(f'RandomCrop: absolute_range crop_size must be (lo, hi) '
                                 f'with lo <= hi; got {crop_size}')
        elif not all(0 < s <= 1 for s in crop_size):
            raise ValueError(f'RandomCrop: {crop_type} crop_size must be in (0, 1]; '
                             f'got {crop_size}')
        if recompute_bbox:
            raise NotImplementedError('RandomCrop: recompute_bbox needs masks, which mmssd '
                                      'does not load')
        self.crop_size = tuple(crop_size)
        self.crop_type = crop_type
        self.allow_negative_crop = allow_negative_crop
        self.bbox_clip_border = bbox_clip_border

    def _get_crop_size(self, h: int, w: int) -> tuple[int, int]:
        """(crop_h, crop_w) for an (h, w) image."""
        if self.crop_type == 'absolute':
            return min(self.crop_size[0], h), min(self.crop_size[1], w)
        if self.crop_type == 'absolute_range':
            lo, hi = self.crop_size
            crop_h = np.random.randint(min(h, lo), min(h, hi) + 1)
            crop_w = np.random.randint(min(w, lo), min(w, hi) + 1)
            return int(crop_h), int(crop_w)
        ratio = np.asarray(self.crop_size, dtype=np.float32)
        if self.crop_type == 'relative_range':
            ratio = ratio + np.random.rand(2) * (1 - ratio)
        return int(h * ratio[0] + 0.5), int(w * ratio[1] + 0.5)

    def _crop_boxes(self, results: dict, x1: int, y1: int, crop_hw: tuple[int, int]) -> bool:
        """Shift, clip and filter the boxes; False when no ``gt_bboxes`` survive."""
        offset = np.array([x1, y1, x1, y1], dtype=np.float32)
        crop_h, crop_w = crop_hw
        cropped = {}
        for key in results.get('bbox_fields', []):
            boxes = results[key] - offset
            if self.bbox_clip_border:
                boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, crop_w)
                boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, crop_h)
            valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            if key == 'gt_bboxes' and not valid.any() and not self.allow_negative_crop:
                return False
            cropped[key] = (boxes[valid], valid)
        for key, (boxes, valid) in cropped.items():
            results[key] = boxes
            label_key = BBOX2LABEL.get(key)
            if label_key in results:
                results[label_key] = results[label_key][valid]
        return True

    def __call__(self, results: dict) -> dict | None:
        check_single_img_field(results, 'RandomCrop')
        h, w = results['img'].shape[:2]
        crop_h, crop_w = self._get_crop_size(h, w)
        if crop_h <= 0 or crop_w <= 0:
            raise ValueError(f'RandomCrop: crop size {(crop_h, crop_w)} of a {h}x{w} image '
                             'is empty')
        y1 = int(np.random.randint(0, max(h - crop_h, 0) + 1))
        x1 = int(np.random.randint(0, max(w - crop_w, 0) + 1))
        if not self._crop_boxes(results, x1, y1, (crop_h, crop_w)):
            return None  # before building the pixels of a VirtualCanvas
        img = crop_pixels(results['img'], x1, y1, x1 + crop_w, y1 + crop_h)
        results['img'] = img
        results['img_shape'] = img.shape
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f"crop_type='{self.crop_type}', allow_negative_crop={self.allow_negative_crop}, "
                f'bbox_clip_border={self.bbox_clip_border})')
