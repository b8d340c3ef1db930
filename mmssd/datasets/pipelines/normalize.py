"""``Normalize``: ``(img - mean) / std`` in one pass, written channel-first."""
from __future__ import annotations

from collections.abc import Sequence

import mmcv
import numpy as np

from mmssd.registry import TRANSFORMS


def normalize_to_chw(img: np.ndarray, mean: np.ndarray, stdinv: np.ndarray,
                     to_rgb: bool) -> np.ndarray:
    """(H, W, C) image of any dtype -> C-contiguous (C, H, W) float32
    ``(img - mean) * stdinv``, channels reversed (BGR -> RGB) first when ``to_rgb``.

    One pass reads the image and writes float32 (plus one in-place pass when some
    ``stdinv != 1``). ``mean``: (C,) float32; ``stdinv``: (C,) float64. The arithmetic
    is ``mmcv.imnormalize``'s, so the values are bit-identical: float32 ``img - mean``,
    then the product with ``stdinv`` in float64, rounded to float32 (as cv2.multiply).
    """
    src = img.transpose(2, 0, 1)
    if to_rgb:
        src = src[::-1]
    out = np.empty(src.shape, np.float32)
    np.subtract(src, mean[:, None, None], out=out, dtype=np.float32)
    if (stdinv != 1).any():
        np.multiply(out, stdinv[:, None, None], out=out, casting='same_kind')
    return out


@TRANSFORMS.register_module()
class Normalize:
    """``(img - mean) / std`` (after BGR->RGB with ``to_rgb``) -> float32; sets
    ``img_norm_cfg``.

    For (H, W, C) images the result is written channel-first and ``img`` is its
    (H, W, C) *view* (``out.transpose(1, 2, 0)``), so ``DefaultFormatBundle`` and
    ``ImageToTensor`` get the (C, H, W) tensor without a copy. Values are bit-identical
    to ``mmcv.imnormalize``'s.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], to_rgb: bool = True):
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)
        self.to_rgb = to_rgb
        self._stdinv = 1 / self.std.astype(np.float64)

    def _normalize(self, img: np.ndarray) -> np.ndarray:
        if img.ndim == 3 and img.shape[2] == len(self.mean) and (not self.to_rgb
                                                                 or img.shape[2] == 3):
            return normalize_to_chw(img, self.mean, self._stdinv,
                                    self.to_rgb).transpose(1, 2, 0)
        return mmcv.imnormalize(img, self.mean, self.std, self.to_rgb)

    def __call__(self, results: dict) -> dict:
        for key in results.get('img_fields', ['img']):
            results[key] = self._normalize(results[key])
        results['img_norm_cfg'] = {'mean': self.mean, 'std': self.std, 'to_rgb': self.to_rgb}
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mean={self.mean.tolist()}, std={self.std.tolist()}, '
                f'to_rgb={self.to_rgb})')
