"""``RandomFlip``: flip the image and boxes horizontally, vertically or both."""
from __future__ import annotations

import cv2
import numpy as np
from numpy import random

from mmssd.registry import TRANSFORMS
from mmssd.structures.bbox import bbox_flip

#: cv2.flip codes
_FLIP_CODES = {'horizontal': 1, 'vertical': 0, 'diagonal': -1}
_NUMPY_AXES = {'horizontal': (1,), 'vertical': (0,), 'diagonal': (0, 1)}
_CV2_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32, np.float64)


def flip_image(img: np.ndarray, direction: str) -> np.ndarray:
    """(H, W[, C]) image flipped along ``direction``, as a new C-contiguous array.

    (``mmcv.imflip`` returns a negative-stride view, which every later cv2 call copies
    through a slow path.)
    """
    if direction not in _FLIP_CODES:
        raise ValueError(f"flip direction must be 'horizontal', 'vertical' or 'diagonal'; "
                         f'got {direction!r}')
    if img.dtype in _CV2_DTYPES and img.ndim in (2, 3) and img.size:
        return cv2.flip(img, _FLIP_CODES[direction]).reshape(img.shape)
    return np.ascontiguousarray(np.flip(img, axis=_NUMPY_AXES[direction]))


@TRANSFORMS.register_module()
class RandomFlip:
    """Flip the image and boxes with probability ``flip_ratio``.

    ``flip_ratio`` and ``direction`` may be lists of the same length (one probability
    per direction); a single ``flip_ratio`` is split evenly over the directions. When
    ``results`` already has ``flip`` (set by ``MultiScaleFlipAug``), that decision is
    applied instead. Sets ``flip`` and ``flip_direction``.

    Random draws (numpy global RNG): one ``random_sample()``, the draw of
    ``random.choice(len(p), p=p)`` over the directions and "no flip".
    """

    DIRECTIONS = tuple(_FLIP_CODES)

    def __init__(self, flip_ratio: float | list[float] | None = None,
                 direction: str | list[str] = 'horizontal'):
        directions = direction if isinstance(direction, list) else [direction]
        for d in directions:
            if d not in self.DIRECTIONS:
                raise ValueError(f'RandomFlip: direction must be one of {self.DIRECTIONS}; '
                                 f'got {d!r}')
        if isinstance(flip_ratio, list):
            if not isinstance(direction, list) or len(flip_ratio) != len(direction):
                raise ValueError('RandomFlip: a list flip_ratio needs a direction list of the '
                                 f'same length; got {flip_ratio} and {direction}')
            if not 0 <= sum(flip_ratio) <= 1:
                raise ValueError(f'RandomFlip: sum(flip_ratio) must be in [0, 1]; got {flip_ratio}')
        elif flip_ratio is not None and not 0 <= flip_ratio <= 1:
            raise ValueError(f'RandomFlip: flip_ratio must be in [0, 1]; got {flip_ratio}')
        self.flip_ratio = flip_ratio
        self.direction = direction
        self._directions = list(directions)
        self._cdf = self._choice_cdf()

    def _choice_cdf(self) -> np.ndarray:
        """Normalised cumulative probabilities of (*directions, no flip), as
        ``random.choice`` computes them."""
        if isinstance(self.flip_ratio, list):
            probs = list(self.flip_ratio)
        else:
            ratio = self.flip_ratio or 0.0
            probs = [ratio / len(self._directions)] * len(self._directions)
        probs.append(1 - sum(probs))
        cdf = np.asarray(probs, dtype=np.float64).cumsum()
        cdf /= cdf[-1]
        return cdf

    def _choose(self) -> str | None:
        """A random direction, or None for no flip (``random.choice``'s draw and
        search, without its per-call validation)."""
        idx = int(self._cdf.searchsorted(random.random_sample(), side='right'))
        return self._directions[idx] if idx < len(self._directions) else None

    def __call__(self, results: dict) -> dict:
        if 'flip' not in results:
            direction = self._choose()
            results['flip'] = direction is not None
            results['flip_direction'] = direction
        if 'flip_direction' not in results:
            results['flip_direction'] = self._directions[0]
        if results['flip']:
            direction = results['flip_direction']
            for key in results.get('img_fields', ['img']):
                results[key] = flip_image(results[key], direction)
            for key in results.get('bbox_fields', []):
                results[key] = bbox_flip(results[key], results['img_shape'], direction)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(flip_ratio={self.flip_ratio}, '
                f'direction={self.direction!r})')
