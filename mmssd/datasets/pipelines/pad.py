"""``Pad``: pad the image at the bottom/right to a size or a multiple."""
from __future__ import annotations

import mmcv

from mmssd.registry import TRANSFORMS


@TRANSFORMS.register_module()
class Pad:
    """Pad the image at the bottom/right to ``size`` (h, w) or to a multiple of
    ``size_divisor`` (exactly one of them, or ``pad_to_square``); sets ``pad_shape``."""

    def __init__(self, size: tuple[int, int] | None = None, size_divisor: int | None = None,
                 pad_to_square: bool = False, pad_val: float | dict = 0):
        self.size = size
        self.size_divisor = size_divisor
        self.pad_to_square = pad_to_square
        self.pad_val = pad_val.get('img', 0) if isinstance(pad_val, dict) else pad_val
        if pad_to_square:
            if size is not None or size_divisor is not None:
                raise ValueError('Pad: with pad_to_square, size and size_divisor must be None')
        elif (size is None) == (size_divisor is None):
            raise ValueError(f'Pad: give exactly one of size and size_divisor; got '
                             f'size={size}, size_divisor={size_divisor}')

    def __call__(self, results: dict) -> dict:
        for key in results.get('img_fields', ['img']):
            img = results[key]
            size = self.size
            if self.pad_to_square:
                size = (max(img.shape[:2]),) * 2
            if size is not None:
                padded = mmcv.impad(img, shape=tuple(size), pad_val=self.pad_val)
            else:
                padded = mmcv.impad_to_multiple(img, self.size_divisor, pad_val=self.pad_val)
            results[key] = padded
        results['pad_shape'] = padded.shape
        results['pad_fixed_size'] = self.size
        results['pad_size_divisor'] = self.size_divisor
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, size_divisor={self.size_divisor}, '
                f'pad_to_square={self.pad_to_square}, pad_val={self.pad_val})')
