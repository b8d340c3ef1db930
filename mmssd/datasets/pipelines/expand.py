"""``Expand``: SSD's zoom-out (the image on a larger canvas of the mean colour)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy import random

from mmssd.registry import TRANSFORMS

from .common import check_single_img_field
from .virtual_canvas import VirtualCanvas, as_array


@TRANSFORMS.register_module()
class Expand:
    """With probability ``prob``, place the image at a random spot of a canvas ``ratio``
    times larger (``ratio`` uniform in ``ratio_range``), filled with ``mean`` (given in
    RGB when ``to_rgb``; cast to the image dtype, so truncated for uint8 images).

    Random draws (numpy global RNG, in order): ``uniform(0, 1)`` (skip when > ``prob``),
    ``ratio``, ``left``, ``top``, as in mmdetection 2.x.

    Sets ``img`` (H * ratio, W * ratio, C), ``img_shape``; shifts every key of
    ``bbox_fields`` by (left, top).

    Lazy canvas: when ``lazy`` and the next transform of the ``Compose`` crops a
    ``VirtualCanvas`` (``accepts_virtual_canvas``, e.g. ``MinIoURandomCrop``), ``img``
    is a :class:`VirtualCanvas` and the crop builds only the pixels it keeps; the output
    of the pair is identical to the eager one.
    """

    def __init__(self, mean: Sequence[float] = (0, 0, 0), to_rgb: bool = True,
                 ratio_range: tuple[float, float] = (1, 4), prob: float = 0.5,
                 lazy: bool = True):
        self.to_rgb = to_rgb
        self.mean = np.array(mean[::-1] if to_rgb else mean, dtype=np.float32)
        self.min_ratio, self.max_ratio = ratio_range
        if self.min_ratio < 1:
            raise ValueError(f'Expand: ratio_range must be >= 1; got {ratio_range}')
        self.ratio_range = ratio_range
        self.prob = prob
        self.lazy = lazy
        self.emit_virtual = False

    def bind_next(self, next_transform: object | None) -> None:
        """Called by ``Compose``: emit a ``VirtualCanvas`` iff the next transform crops one."""
        self.emit_virtual = self.lazy and getattr(next_transform, 'accepts_virtual_canvas',
                                                  False)

    def __call__(self, results: dict) -> dict:
        if random.uniform(0, 1) > self.prob:
            return results
        check_single_img_field(results, 'Expand')
        img = as_array(results['img'])
        h, w, _ = img.shape
        ratio = random.uniform(self.min_ratio, self.max_ratio)
        left = int(random.uniform(0, w * ratio - w))
        top = int(random.uniform(0, h * ratio - h))
        canvas = VirtualCanvas(img, int(h * ratio), int(w * ratio), left, top,
                               self.mean.astype(img.dtype))
        results['img'] = canvas if self.emit_virtual else canvas.materialize()
        results['img_shape'] = canvas.shape
        offset = np.array([left, top, left, top], dtype=np.float32)
        for key in results.get('bbox_fields', []):
            results[key] = (results[key] + offset).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mean={self.mean.tolist()}, to_rgb={self.to_rgb}, '
                f'ratio_range={self.ratio_range}, prob={self.prob}, lazy={self.lazy})')
