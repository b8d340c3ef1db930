"""``Resize``: rescale the image and boxes (mmdetection 2.x scale selection)."""
from __future__ import annotations

import mmcv
import numpy as np
from numpy import random

from mmssd.registry import TRANSFORMS


@TRANSFORMS.register_module()
class Resize:
    """Resize the image and boxes to a scale picked from ``img_scale``.

    Scale selection (when ``results`` has no ``scale`` yet): with ``ratio_range`` the
    single ``img_scale`` times a random ratio; with one scale that scale; with several,
    ``multiscale_mode='range'`` samples long/short edges between two scales and
    ``'value'`` picks one of them. With ``keep_ratio`` the scale is a (long, short) edge
    bound, else the exact (w, h) output size.

    Sets ``img_shape``, ``pad_shape``, ``scale_factor`` (np.float32 (4,) [w, h, w, h])
    and ``keep_ratio``; scales every key of ``bbox_fields`` (clipped to the image with
    ``bbox_clip_border``).

    Random draws (numpy global RNG), only when the scale is picked here: ``random_sample()``
    with ``ratio_range``; ``randint`` for the long then the short edge with
    ``multiscale_mode='range'``; one ``randint`` with ``'value'``.
    """

    def __init__(self, img_scale: tuple | list | None = None, multiscale_mode: str = 'range',
                 ratio_range: tuple[float, float] | None = None, keep_ratio: bool = True,
                 bbox_clip_border: bool = True, backend: str = 'cv2',
                 interpolation: str = 'bilinear', override: bool = False):
        if img_scale is None:
            self.img_scale = None
        else:
            self.img_scale = list(img_scale) if isinstance(img_scale, list) else [img_scale]
            self.img_scale = [tuple(s) for s in self.img_scale]
            for s in self.img_scale:
                if len(s) != 2:
                    raise ValueError(f'Resize: img_scale entries must be (w, h); got {s}')
        if ratio_range is not None and (self.img_scale is None or len(self.img_scale) != 1):
            raise ValueError('Resize: ratio_range needs exactly one img_scale')
        if multiscale_mode not in ('value', 'range'):
            raise ValueError(f"Resize: multiscale_mode must be 'value' or 'range'; "
                             f'got {multiscale_mode!r}')
        self.multiscale_mode = multiscale_mode
        self.ratio_range = ratio_range
        self.keep_ratio = keep_ratio
        self.bbox_clip_border = bbox_clip_border
        self.backend = backend
        self.interpolation = interpolation
        self.override = override

    @staticmethod
    def random_select(img_scales: list[tuple]) -> tuple[tuple, int]:
        idx = random.randint(len(img_scales))
        return img_scales[idx], idx

    @staticmethod
    def random_sample(img_scales: list[tuple]) -> tuple[tuple, None]:
        if len(img_scales) != 2:
            raise ValueError(f"Resize: multiscale_mode='range' needs 2 scales; got {img_scales}")
        longs = [max(s) for s in img_scales]
        shorts = [min(s) for s in img_scales]
        long_edge = random.randint(min(longs), max(longs) + 1)
        short_edge = random.randint(min(shorts), max(shorts) + 1)
        return (long_edge, short_edge), None

    @staticmethod
    def random_sample_ratio(img_scale: tuple, ratio_range: tuple) -> tuple[tuple, None]:
        min_ratio, max_ratio = ratio_range
        ratio = random.random_sample() * (max_ratio - min_ratio) + min_ratio
        return (int(img_scale[0] * ratio), int(img_scale[1] * ratio)), None

    def _random_scale(self, results: dict) -> None:
        if self.img_scale is None:
            raise KeyError('Resize: img_scale is None and results has no `scale` '
                           '(set img_scale, or use Resize inside MultiScaleFlipAug)')
        if self.ratio_range is not None:
            scale, idx = self.random_sample_ratio(self.img_scale[0], self.ratio_range)
        elif len(self.img_scale) == 1:
            scale, idx = self.img_scale[0], 0
        elif self.multiscale_mode == 'range':
            scale, idx = self.random_sample(self.img_scale)
        else:
            scale, idx = self.random_select(self.img_scale)
        results['scale'] = scale
        results['scale_idx'] = idx

    def _resize_img(self, results: dict) -> None:
        for key in results.get('img_fields', ['img']):
            img = results[key]
            h, w = img.shape[:2]
            if self.keep_ratio:
                img = mmcv.imrescale(img, results['scale'], interpolation=self.interpolation,
                                     backend=self.backend)
                new_h, new_w = img.shape[:2]
                w_scale, h_scale = new_w / w, new_h / h
            else:
                img, w_scale, h_scale = mmcv.imresize(
                    img, results['scale'], return_scale=True,
                    interpolation=self.interpolation, backend=self.backend)
            results[key] = img
        results['scale_factor'] = np.array([w_scale, h_scale, w_scale, h_scale], np.float32)
        results['img_shape'] = img.shape
        results['pad_shape'] = img.shape
        results['keep_ratio'] = self.keep_ratio

    def _resize_bboxes(self, results: dict) -> None:
        h, w = results['img_shape'][:2]
        for key in results.get('bbox_fields', []):
            bboxes = results[key] * results['scale_factor']
            if self.bbox_clip_border:
                bboxes[:, 0::2] = np.clip(bboxes[:, 0::2], 0, w)
                bboxes[:, 1::2] = np.clip(bboxes[:, 1::2], 0, h)
            results[key] = bboxes.astype(np.float32)

    def __call__(self, results: dict) -> dict:
        if 'scale' not in results:
            if 'scale_factor' in results:  # from MultiScaleFlipAug(scale_factor=...)
                factor = results['scale_factor']
                if not isinstance(factor, float):
                    raise TypeError(f'Resize: results["scale_factor"] must be a float when '
                                    f'no scale is given; got {factor!r}')
                h, w = results['img'].shape[:2]
                results['scale'] = (int(w * factor), int(h * factor))
            else:
                self._random_scale(results)
        elif self.override:
            results.pop('scale')
            results.pop('scale_factor', None)
            self._random_scale(results)
        self._resize_img(results)
        self._resize_bboxes(results)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(img_scale={self.img_scale}, '
                f"multiscale_mode='{self.multiscale_mode}', ratio_range={self.ratio_range}, "
                f'keep_ratio={self.keep_ratio}, bbox_clip_border={self.bbox_clip_border})')
