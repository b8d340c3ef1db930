"""``MultiScaleFlipAug``: run the test transforms once per (scale, flip) augmentation."""
from __future__ import annotations

import warnings

from mmssd.registry import TRANSFORMS

from .compose import Compose


@TRANSFORMS.register_module()
class MultiScaleFlipAug:
    """Test-time augmentation over scales and flips.

    For each scale in ``img_scale`` (or each factor in ``scale_factor``; exactly one of
    them) and each flip in ``[no flip] + flip_direction`` (when ``flip``), a copy of the
    results gets ``scale`` (or ``scale_factor``), ``flip`` and ``flip_direction`` and goes
    through ``transforms``. Output: a dict of lists over augmentations, e.g.
    ``{'img': [Tensor(3, H, W)], 'img_metas': [dict]}``.
    """

    def __init__(self, transforms: list[dict], img_scale: tuple | list | None = None,
                 scale_factor: float | list[float] | None = None, flip: bool = False,
                 flip_direction: str | list[str] = 'horizontal'):
        self.transforms = Compose(transforms)
        if (img_scale is None) == (scale_factor is None):
            raise ValueError('MultiScaleFlipAug: set exactly one of img_scale and scale_factor; '
                             f'got img_scale={img_scale}, scale_factor={scale_factor}')
        if img_scale is not None:
            scales = img_scale if isinstance(img_scale, list) else [img_scale]
            self.img_scale = [tuple(s) for s in scales]
            self.scale_key = 'scale'
        else:
            self.img_scale = scale_factor if isinstance(scale_factor, list) else [scale_factor]
            self.scale_key = 'scale_factor'
        self.flip = flip
        self.flip_direction = (flip_direction if isinstance(flip_direction, list)
                               else [flip_direction])
        if not flip and self.flip_direction != ['horizontal']:
            warnings.warn('flip_direction has no effect when flip is False', stacklevel=2)
        if flip and not any(t.get('type') == 'RandomFlip' for t in transforms
                            if isinstance(t, dict)):
            warnings.warn('flip has no effect when RandomFlip is not in transforms',
                          stacklevel=2)

    def __call__(self, results: dict) -> dict:
        flip_args = [(False, None)]
        if self.flip:
            flip_args += [(True, direction) for direction in self.flip_direction]
        aug_data = []
        for scale in self.img_scale:
            for flip, direction in flip_args:
                _results = results.copy()
                _results[self.scale_key] = scale
                _results['flip'] = flip
                _results['flip_direction'] = direction
                aug_data.append(self.transforms(_results))
        return {key: [data[key] for data in aug_data] for key in aug_data[0]}

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(transforms={self.transforms}, '
                f'img_scale={self.img_scale}, flip={self.flip}, '
                f'flip_direction={self.flip_direction})')
