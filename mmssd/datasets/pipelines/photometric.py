"""``PhotoMetricDistortion``: SSD's colour jitter, on uint8 images or in float32."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy import random

from mmssd.registry import TRANSFORMS

from .common import check_single_img_field

_LEVELS = np.arange(256, dtype=np.float64)


@dataclass(frozen=True)
class Distortion:
    """The random choices of one ``PhotoMetricDistortion`` call (None = step skipped).

    ``brightness``: delta added; ``contrast``: factor, applied before the HSV steps when
    ``contrast_first`` else after them; ``saturation``: factor on S; ``hue``: degrees
    added to H; ``permutation``: new channel order.
    """

    brightness: float | None
    contrast_first: bool
    contrast: float | None
    saturation: float | None
    hue: float | None
    permutation: np.ndarray | None


def _to_uint8_lut(values: np.ndarray) -> np.ndarray:
    """(256,) float levels -> (256,) uint8 table (rounded, clipped to [0, 255])."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


@TRANSFORMS.register_module()
class PhotoMetricDistortion:
    """SSD colour jitter, each step applied with probability 0.5, in this order:

    brightness (add ``uniform(-brightness_delta, brightness_delta)``), contrast
    (multiply by ``uniform(*contrast_range)``; before the HSV steps or after them, a coin
    flip), saturation (S times ``uniform(*saturation_range)``), hue (H plus
    ``uniform(-hue_delta, hue_delta)`` degrees, wrapped), contrast (if last), random
    channel permutation.

    Random draws (numpy global RNG, in order, as mmdetection 2.x): ``randint(2)`` and the
    brightness delta; ``randint(2)`` for the contrast position; [``randint(2)`` and the
    factor, if contrast first]; ``randint(2)`` and the saturation factor; ``randint(2)``
    and the hue delta; [``randint(2)`` and the factor, if contrast last]; ``randint(2)``
    and ``permutation(3)``. Both implementations draw the same values.

    Args:
        impl: ``'float'`` (default): mmdetection's float32 arithmetic, bit for bit, in fewer
            passes (see :func:`apply_distortion_float`); the image becomes float32 and its
            values may leave [0, 255] (they are not clipped, as in mmdetection).
            ``'uint8'``: for uint8 BGR images, which stay uint8 (other images take the
            float path): brightness and contrast as ``cv2.LUT`` tables, the hue rotation
            in float32 HSV, the saturation as a blend with the largest channel (exact for
            HSV, see :func:`scale_saturation`); see :func:`apply_distortion_uint8`.

    ``'uint8'`` draws the same values but rounds and clips to [0, 255] after each step,
    where the float path lets values leave that range until ``Normalize`` (a bright pixel
    pushed to 290 by the brightness stays 290 there, 255 here; a fully saturated colour
    whose saturation is raised gets negative channels there, 0 here). Where nothing clips,
    the two differ by rounding only: 0.2 grey level on average, under 3 at most
    (``tests/datasets/test_photometric.py``). On images with many saturated colours the
    clipping changes the training signal (a short SSD300 run on the demo shapes diverged
    with it), so it is not the default; it saves only ~0.07 ms per image
    (``docs/benchmarks.md``).
    """

    IMPLS = ('float', 'uint8')

    def __init__(self, brightness_delta: int = 32, contrast_range: tuple = (0.5, 1.5),
                 saturation_range: tuple = (0.5, 1.5), hue_delta: int = 18,
                 impl: str = 'float'):
        if impl not in self.IMPLS:
            raise ValueError(f'PhotoMetricDistortion: impl must be one of {self.IMPLS}; '
                             f'got {impl!r}')
        self.brightness_delta = brightness_delta
        self.contrast_lower, self.contrast_upper = contrast_range
        self.saturation_lower, self.saturation_upper = saturation_range
        self.hue_delta = hue_delta
        self.impl = impl

    def _maybe_contrast(self) -> float | None:
        if random.randint(2):
            return random.uniform(self.contrast_lower, self.contrast_upper)
        return None

    def sample(self) -> Distortion:
        """Draw the random choices, in mmdetection 2.x's order."""
        brightness = contrast = saturation = hue = permutation = None
        if random.randint(2):
            brightness = random.uniform(-self.brightness_delta, self.brightness_delta)
        contrast_first = random.randint(2) == 1
        if contrast_first:
            contrast = self._maybe_contrast()
        if random.randint(2):
            saturation = random.uniform(self.saturation_lower, self.saturation_upper)
        if random.randint(2):
            hue = random.uniform(-self.hue_delta, self.hue_delta)
        if not contrast_first:
            contrast = self._maybe_contrast()
        if random.randint(2):
            permutation = random.permutation(3)
        return Distortion(brightness, contrast_first, contrast, saturation, hue, permutation)

    def __call__(self, results: dict) -> dict:
        check_single_img_field(results, 'PhotoMetricDistortion')
        d = self.sample()
        img = results['img']
        if self.impl == 'uint8' and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3:
            results['img'] = apply_distortion_uint8(img, d)
        else:
            results['img'] = apply_distortion_float(img, d)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness_delta={self.brightness_delta}, '
                f'contrast_range=({self.contrast_lower}, {self.contrast_upper}), '
                f'saturation_range=({self.saturation_lower}, {self.saturation_upper}), '
                f"hue_delta={self.hue_delta}, impl='{self.impl}')")


def _brightness_contrast_first(img: np.ndarray, d: Distortion) -> np.ndarray:
    """float32 ``(img + brightness) * contrast`` (contrast only if first), as mmdetection
    computes it; for uint8 images by one ``cv2.LUT`` from the 256 values so computed."""
    is_uint8 = img.dtype == np.uint8
    values = np.arange(256, dtype=np.float32) if is_uint8 else img.astype(np.float32)
    if d.brightness is not None:
        values += d.brightness  # a Python float: float32 arithmetic, as `img += delta`
    if d.contrast_first and d.contrast is not None:
        values *= d.contrast
    return cv2.LUT(img, values) if is_uint8 else values


def _rotate_hue(hsv: np.ndarray, degrees: float) -> None:
    """In place on float32 HSV: ``hsv[..., 0] += degrees``, then values > 360 lose 360
    and values < 0 gain 360, as mmdetection does (cv2's hue lies in [0, 360], so for
    ``|degrees| <= 360`` only the wrap on the side of ``degrees`` can apply)."""
    hue = cv2.extractChannel(hsv, 0)
    hue += degrees
    beyond = abs(degrees) > 360
    if degrees > 0 or beyond:
        cv2.subtract(hue, 360.0, dst=hue, mask=cv2.compare(hue, 360.0, cv2.CMP_GT))
    if degrees < 0 or beyond:
        cv2.add(hue, 360.0, dst=hue, mask=cv2.compare(hue, 0.0, cv2.CMP_LT))
    cv2.insertChannel(hue, hsv, 0)


def apply_distortion_float(img: np.ndarray, d: Distortion) -> np.ndarray:
    """mmdetection 2.x's float32 arithmetic, bit for bit: (H, W, 3) any dtype -> (H, W, 3)
    float32, values not clipped.

    The same float32 operations in fewer passes: brightness and a first contrast as one
    ``cv2.LUT`` with a float32 table for uint8 input, the hue wrap through cv2 masks, and
    the channel permutation left as numpy's fancy-indexed array (a channel-first buffer,
    which ``Normalize`` reads directly) instead of a further contiguous copy.
    """
    hsv = cv2.cvtColor(_brightness_contrast_first(img, d), cv2.COLOR_BGR2HSV)
    if d.saturation is not None:
        hsv[..., 1] *= d.saturation
    if d.hue is not None:
        _rotate_hue(hsv, d.hue)
    img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    if not d.contrast_first and d.contrast is not None:
        img *= d.contrast
    if d.permutation is not None:
        img = img[..., d.permutation]
    return img


def rotate_hue(img: np.ndarray, degrees: float) -> np.ndarray:
    """(H, W, 3) uint8 BGR with ``degrees`` added to the HSV hue (wrapped as mmdetection
    does), computed in float32 HSV and rounded back to uint8 (cv2's 8-bit HSV would
    quantise the hue to 1.4 degrees: errors up to ~9 grey levels)."""
    hsv = cv2.cvtColor(img.astype(np.float32), cv2.COLOR_BGR2HSV)
    _rotate_hue(hsv, degrees)
    # S <= 1 and V <= 255 here, so the BGR values lie in [0, 255]: round, no clipping
    return cv2.convertScaleAbs(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR))


def scale_saturation(img: np.ndarray, factor: float, gain: float = 1.0) -> np.ndarray:
    """(H, W, 3) uint8 BGR with the HSV saturation times ``factor``, then times ``gain``.

    HSV -> BGR is linear in S at fixed H and V (each channel is ``V * (1 - S * k)``, ``k``
    from H), so scaling S is ``c' = V - factor * (V - c) = factor * c + (1 - factor) * V``
    with ``V`` the largest channel: the float result, rounded and clipped once.
    """
    value = cv2.max(cv2.max(cv2.extractChannel(img, 0), cv2.extractChannel(img, 1)),
                    cv2.extractChannel(img, 2))
    return cv2.addWeighted(img, gain * factor, cv2.cvtColor(value, cv2.COLOR_GRAY2BGR),
                           gain * (1 - factor), 0)


def apply_distortion_uint8(img: np.ndarray, d: Distortion) -> np.ndarray:
    """uint8 steps: (H, W, 3) uint8 BGR -> (H, W, 3) uint8 (see the class doc).

    Brightness and a first contrast are one ``cv2.LUT`` (with a last contrast too when no
    HSV step comes between); the hue is rotated (float32 HSV) before the saturation is
    scaled (they act on separate HSV coordinates, so they commute), and a last contrast
    is folded into the saturation blend when there is one.
    """
    levels, changed = _LEVELS, False
    if d.brightness is not None:
        levels, changed = levels + d.brightness, True
    use_hsv = d.saturation is not None or d.hue is not None
    contrast_last = d.contrast if not d.contrast_first else None
    if d.contrast is not None and (d.contrast_first or not use_hsv):
        levels, changed = levels * d.contrast, True
        contrast_last = None
    if changed:
        img = cv2.LUT(img, _to_uint8_lut(levels))
    if d.hue is not None:
        img = rotate_hue(img, d.hue)
    if d.saturation is not None:
        gain = 1.0 if contrast_last is None else contrast_last
        img = scale_saturation(img, d.saturation, gain)
    elif contrast_last is not None:
        img = cv2.LUT(img, _to_uint8_lut(_LEVELS * contrast_last))
    if d.permutation is not None:
        img = img[..., d.permutation]
    return img
