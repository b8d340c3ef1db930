"""Formatting transforms: numpy results -> tensors, and ``Collect`` into ``img_metas``."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mmssd.registry import TRANSFORMS

#: Meta keys ``Collect`` puts into ``img_metas`` by default (mmdetection 2.x).
DEFAULT_META_KEYS = ('filename', 'ori_filename', 'ori_shape', 'img_shape', 'pad_shape',
                     'scale_factor', 'flip', 'flip_direction', 'img_norm_cfg')


def to_tensor(data) -> torch.Tensor:
    """A tensor from a tensor, numpy array, sequence, int or float."""
    if isinstance(data, torch.Tensor):
        return data
    if isinstance(data, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(data))
    if isinstance(data, Sequence) and not isinstance(data, str):
        return torch.tensor(data)
    if isinstance(data, int):
        return torch.LongTensor([data])
    if isinstance(data, float):
        return torch.FloatTensor([data])
    raise TypeError(f'type {type(data).__name__} cannot be converted to a tensor')


def _img_to_chw(img: np.ndarray, dtype: np.dtype | None = None) -> np.ndarray:
    """(H, W[, C]) -> C-contiguous (C, H, W), cast to ``dtype`` in the same pass.

    No copy when ``img`` is already the (H, W, C) view of a (C, H, W) array of that dtype
    (``Normalize``'s output).
    """
    if img.ndim < 3:
        img = img[..., None]
    chw = img.transpose(2, 0, 1)
    if dtype is None or chw.dtype == dtype:
        return np.ascontiguousarray(chw)
    out = np.empty(chw.shape, dtype)
    out[...] = chw
    return out


@TRANSFORMS.register_module()
class DefaultFormatBundle:
    """``img`` -> float32 tensor (3, H, W) (cast and transposed in one pass, no copy after
    ``Normalize``); ``gt_bboxes``, ``gt_bboxes_ignore``, ``gt_labels``, ``proposals`` ->
    tensors. Fills ``pad_shape``, ``scale_factor`` (ones (4,)) and ``img_norm_cfg``
    (identity) when no transform set them."""

    GT_KEYS = ('proposals', 'gt_bboxes', 'gt_bboxes_ignore', 'gt_labels')

    def __init__(self, img_to_float: bool = True):
        self.img_to_float = img_to_float

    @staticmethod
    def _add_default_meta_keys(results: dict) -> None:
        img = results['img']
        results.setdefault('pad_shape', img.shape)
        results.setdefault('scale_factor', np.ones(4, dtype=np.float32))
        channels = 1 if img.ndim < 3 else img.shape[2]
        results.setdefault('img_norm_cfg', {'mean': np.zeros(channels, np.float32),
                                            'std': np.ones(channels, np.float32),
                                            'to_rgb': False})

    def __call__(self, results: dict) -> dict:
        if 'img' in results:
            self._add_default_meta_keys(results)
            dtype = np.float32 if self.img_to_float else None
            results['img'] = to_tensor(_img_to_chw(results['img'], dtype))
        for key in self.GT_KEYS:
            if key in results:
                results[key] = to_tensor(results[key])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(img_to_float={self.img_to_float})'


@TRANSFORMS.register_module()
class ImageToTensor:
    """Each image key (H, W, C) -> tensor (C, H, W), dtype unchanged."""

    def __init__(self, keys: Sequence[str]):
        self.keys = list(keys)

    def __call__(self, results: dict) -> dict:
        for key in self.keys:
            results[key] = to_tensor(_img_to_chw(results[key]))
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys})'


@TRANSFORMS.register_module()
class ToTensor:
    """Each key -> tensor (``to_tensor``)."""

    def __init__(self, keys: Sequence[str]):
        self.keys = list(keys)

    def __call__(self, results: dict) -> dict:
        for key in self.keys:
            results[key] = to_tensor(results[key])
        return results


@TRANSFORMS.register_module()
class Collect:
    """Keep only ``keys``, and gather ``meta_keys`` into ``img_metas``.

    ``img_id`` and ``ann_info`` (the image's ground truth in original pixels, which the
    metrics read) are always carried into ``img_metas`` when present.

    Output: ``{'img_metas': dict, **{k: results[k] for k in keys}}``.
    """

    def __init__(self, keys: Sequence[str], meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        self.keys = list(keys)
        self.meta_keys = list(meta_keys)

    def __call__(self, results: dict) -> dict:
        missing = [k for k in self.keys + self.meta_keys if k not in results]
        if missing:
            raise KeyError(f'Collect: {missing} not in the results (available: '
                           f'{sorted(results)}); add the transform that sets them or drop '
                           'them from `keys`/`meta_keys`')
        img_meta = {key: results[key] for key in self.meta_keys}
        for key in ('img_id', 'ann_info'):
            if key in results:
                img_meta[key] = results[key]
        data = {'img_metas': img_meta}
        for key in self.keys:
            data[key] = results[key]
        return data

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys}, meta_keys={self.meta_keys})'
