"""The baseline of ``bench_data_pipeline.py``: mmssd's first, straightforward transforms.

A frozen copy of the SSD training transforms as mmssd first wrote them (a direct port of
mmdetection 2.x): the image becomes float32 before the colour jitter, ``Expand`` fills
its whole canvas with a numpy broadcast, ``MinIoURandomCrop`` computes a full IoU for
every candidate patch, ``Normalize`` goes through ``mmcv.imnormalize`` (copy, then three
in-place passes) and ``DefaultFormatBundle`` transposes with another copy. ``Resize`` never
changed: the baseline re-exports mmssd's. Not registered; the benchmark builds them
directly. Same random draws as ``mmssd.datasets.pipelines``.
"""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

import mmcv
import numpy as np
from mmengine import fileio
from numpy import random

from mmssd.datasets import pipelines as mmssd_pipelines
from mmssd.datasets.pipelines import Resize, to_tensor
from mmssd.structures.bbox import bbox_flip, bbox_overlaps_np

__all__ = ['DefaultFormatBundle', 'Expand', 'LoadImageFromFile', 'MinIoURandomCrop',
           'Normalize', 'PhotoMetricDistortion', 'RandomFlip', 'Resize']


def _check_single_img_field(results: dict, name: str) -> None:
    if results.get('img_fields', ['img']) != ['img']:
        raise ValueError(f'{name} supports only img_fields == [\'img\']; '
                         f"got {results['img_fields']}")


def _backend_args(file_client_args: dict | None) -> dict | None:
    """mmcv 1.x ``file_client_args`` -> mmengine ``backend_args`` (``disk`` is ``local``)."""
    if not file_client_args:
        return None
    args = dict(file_client_args)
    if args.get('backend', 'disk') == 'disk':
        return None
    return args


class LoadImageFromFile:
    """Load an image from ``img_prefix`` / ``img_info['filename']``.

    Adds ``filename``, ``ori_filename``, ``img`` (H, W, 3) uint8 BGR (float32 with
    ``to_float32``), ``img_shape``, ``ori_shape`` and ``img_fields``.

    Args:
        to_float32: convert the image to float32.
        color_type: ``'color'``, ``'grayscale'`` or ``'unchanged'`` (mmcv flags).
        channel_order: ``'bgr'`` or ``'rgb'``.
        file_client_args: mmcv 1.x file client arguments, e.g. ``dict(backend='disk')``.
    """

    def __init__(self, to_float32: bool = False, color_type: str = 'color',
                 channel_order: str = 'bgr', file_client_args: dict | None = None):
        self.to_float32 = to_float32
        self.color_type = color_type
        self.channel_order = channel_order
        self.file_client_args = dict(file_client_args or {'backend': 'disk'})

    def __call__(self, results: dict) -> dict:
        img_info = results['img_info']
        prefix = results.get('img_prefix')
        filename = osp.join(prefix, img_info['filename']) if prefix else img_info['filename']
        backend_args = _backend_args(self.file_client_args)
        if backend_args is None and not osp.isfile(filename):
            raise FileNotFoundError(f'image file not found: {filename} '
                                    f"(img_prefix={prefix!r}, filename={img_info['filename']!r})")
        try:
            img_bytes = fileio.get(filename, backend_args=backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'image file not found: {filename}') from e
        img = mmcv.imfrombytes(img_bytes, flag=self.color_type, channel_order=self.channel_order)
        if img is None:
            raise OSError(f'cannot decode image file {filename} (corrupt or not an image)')
        if self.to_float32:
            img = img.astype(np.float32)
        results['filename'] = filename
        results['ori_filename'] = img_info['filename']
        results['img'] = img
        results['img_shape'] = img.shape
        results['ori_shape'] = img.shape
        results['img_fields'] = ['img']
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f"color_type='{self.color_type}', file_client_args={self.file_client_args})")


class Expand:
    """Zoom out: place the image at a random spot of a canvas ``ratio`` times larger,
    filled with ``mean`` (given in RGB when ``to_rgb``), with probability ``prob``."""

    def __init__(self, mean: Sequence[float] = (0, 0, 0), to_rgb: bool = True,
                 ratio_range: tuple[float, float] = (1, 4), prob: float = 0.5):
        self.to_rgb = to_rgb
        self.mean = np.array(mean[::-1] if to_rgb else mean, dtype=np.float32)
        self.min_ratio, self.max_ratio = ratio_range
        if self.min_ratio < 1:
            raise ValueError(f'Expand: ratio_range must be >= 1; got {ratio_range}')
        self.ratio_range = ratio_range
        self.prob = prob

    def __call__(self, results: dict) -> dict:
        if random.uniform(0, 1) > self.prob:
            return results
        _check_single_img_field(results, 'Expand')
        img = results['img']
        h, w, c = img.shape
        ratio = random.uniform(self.min_ratio, self.max_ratio)
        canvas = np.empty((int(h * ratio), int(w * ratio), c), img.dtype)
        canvas[...] = self.mean.astype(img.dtype) if img.dtype == np.uint8 else self.mean
        left = int(random.uniform(0, w * ratio - w))
        top = int(random.uniform(0, h * ratio - h))
        canvas[top:top + h, left:left + w] = img
        results['img'] = canvas
        results['img_shape'] = canvas.shape
        offset = np.array([left, top, left, top], dtype=np.float32)
        for key in results.get('bbox_fields', []):
            results[key] = (results[key] + offset).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mean={self.mean.tolist()}, to_rgb={self.to_rgb}, '
                f'ratio_range={self.ratio_range}, prob={self.prob})')


def _centers_in_patch(boxes: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """(N,) bool: whether each box's centre lies strictly inside ``patch`` (xyxy)."""
    center = (boxes[:, :2] + boxes[:, 2:]) / 2
    return ((center[:, 0] > patch[0]) & (center[:, 1] > patch[1])
            & (center[:, 0] < patch[2]) & (center[:, 1] < patch[3]))


class MinIoURandomCrop:
    """SSD random crop: pick a mode from ``(1, *min_ious, 0)`` (1 = keep the image),
    then try 50 crops (sides >= ``min_crop_size``, aspect in [0.5, 2]) whose IoU with
    every gt box is >= the mode; keep boxes whose centre is inside the crop."""

    BBOX2LABEL = {'gt_bboxes': 'gt_labels', 'gt_bboxes_ignore': 'gt_labels_ignore'}

    def __init__(self, min_ious: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
                 min_crop_size: float = 0.3, bbox_clip_border: bool = True):
        self.min_ious = tuple(min_ious)
        self.sample_mode = (1, *self.min_ious, 0)
        self.min_crop_size = min_crop_size
        self.bbox_clip_border = bbox_clip_border

    def _try_patch(self, h: int, w: int) -> np.ndarray | None:
        new_w = random.uniform(self.min_crop_size * w, w)
        new_h = random.uniform(self.min_crop_size * h, h)
        if new_h / new_w < 0.5 or new_h / new_w > 2:
            return None
        left = random.uniform(w - new_w)
        top = random.uniform(h - new_h)
        patch = np.array((int(left), int(top), int(left + new_w), int(top + new_h)))
        if patch[2] == patch[0] or patch[3] == patch[1]:
            return None
        return patch

    def _crop(self, results: dict, patch: np.ndarray) -> dict:
        for key in results.get('bbox_fields', []):
            boxes = results[key].copy()
            mask = _centers_in_patch(boxes, patch)
            boxes = boxes[mask]
            if self.bbox_clip_border:
                boxes[:, 2:] = boxes[:, 2:].clip(max=patch[2:])
                boxes[:, :2] = boxes[:, :2].clip(min=patch[:2])
            results[key] = (boxes - np.tile(patch[:2], 2)).astype(np.float32)
            label_key = self.BBOX2LABEL.get(key)
            if label_key in results:
                results[label_key] = results[label_key][mask]
        img = results['img'][patch[1]:patch[3], patch[0]:patch[2]]
        results['img'] = img
        results['img_shape'] = img.shape
        return results

    def __call__(self, results: dict) -> dict:
        _check_single_img_field(results, 'MinIoURandomCrop')
        if 'bbox_fields' not in results:
            raise KeyError('MinIoURandomCrop needs `bbox_fields`; put LoadAnnotations before it')
        boxes = [results[key] for key in results['bbox_fields']]
        boxes = np.concatenate(boxes, 0) if boxes else np.zeros((0, 4), np.float32)
        h, w = results['img'].shape[:2]
        while True:
            mode = random.choice(self.sample_mode)
            if mode == 1:
                return results
            for _ in range(50):
                patch = self._try_patch(h, w)
                if patch is None:
                    continue
                overlaps = bbox_overlaps_np(patch.reshape(-1, 4), boxes).reshape(-1)
                if len(overlaps) > 0 and overlaps.min() < mode:
                    continue
                if len(overlaps) > 0 and not _centers_in_patch(boxes, patch).any():
                    continue
                return self._crop(results, patch)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_ious={self.min_ious}, '
                f'min_crop_size={self.min_crop_size}, bbox_clip_border={self.bbox_clip_border})')


class RandomFlip(mmssd_pipelines.RandomFlip):
    """mmssd's ``RandomFlip`` (same arguments and checks) as first written: the direction
    drawn with ``random.choice`` on every call and the image flipped by ``mmcv.imflip``
    (a negative-stride view)."""

    def _choose(self) -> str | None:
        """A random direction, or None for no flip."""
        directions = self._directions
        if isinstance(self.flip_ratio, list):
            probs = list(self.flip_ratio)
        else:
            ratio = self.flip_ratio or 0.0
            probs = [ratio / len(directions)] * len(directions)
        probs.append(1 - sum(probs))
        idx = random.choice(len(probs), p=probs)
        return directions[idx] if idx < len(directions) else None

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
                results[key] = mmcv.imflip(results[key], direction=direction)
            for key in results.get('bbox_fields', []):
                results[key] = bbox_flip(results[key], results['img_shape'], direction)
        return results


class PhotoMetricDistortion:
    """SSD colour jitter, each step applied with probability 0.5, in this order:

    brightness, contrast (first or last), saturation, hue, contrast (if last), channel
    swap. The image becomes float32 (values are not clipped, as in mmdetection).
    """

    def __init__(self, brightness_delta: int = 32, contrast_range: tuple = (0.5, 1.5),
                 saturation_range: tuple = (0.5, 1.5), hue_delta: int = 18):
        self.brightness_delta = brightness_delta
        self.contrast_lower, self.contrast_upper = contrast_range
        self.saturation_lower, self.saturation_upper = saturation_range
        self.hue_delta = hue_delta

    def _contrast(self, img: np.ndarray) -> np.ndarray:
        if random.randint(2):
            img *= random.uniform(self.contrast_lower, self.contrast_upper)
        return img

    def __call__(self, results: dict) -> dict:
        _check_single_img_field(results, 'PhotoMetricDistortion')
        img = results['img'].astype(np.float32)
        if random.randint(2):
            img += random.uniform(-self.brightness_delta, self.brightness_delta)
        contrast_first = random.randint(2) == 1
        if contrast_first:
            img = self._contrast(img)
        img = mmcv.bgr2hsv(img)
        if random.randint(2):
            img[..., 1] *= random.uniform(self.saturation_lower, self.saturation_upper)
        if random.randint(2):
            img[..., 0] += random.uniform(-self.hue_delta, self.hue_delta)
            img[..., 0][img[..., 0] > 360] -= 360
            img[..., 0][img[..., 0] < 0] += 360
        img = mmcv.hsv2bgr(img)
        if not contrast_first:
            img = self._contrast(img)
        if random.randint(2):
            img = img[..., random.permutation(3)]
        results['img'] = np.ascontiguousarray(img)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness_delta={self.brightness_delta}, '
                f'contrast_range=({self.contrast_lower}, {self.contrast_upper}), '
                f'saturation_range=({self.saturation_lower}, {self.saturation_upper}), '
                f'hue_delta={self.hue_delta})')


class Normalize:
    """``(img - mean) / std`` (after BGR->RGB with ``to_rgb``); sets ``img_norm_cfg``."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], to_rgb: bool = True):
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)
        self.to_rgb = to_rgb

    def __call__(self, results: dict) -> dict:
        for key in results.get('img_fields', ['img']):
            results[key] = mmcv.imnormalize(results[key], self.mean, self.std, self.to_rgb)
        results['img_norm_cfg'] = {'mean': self.mean, 'std': self.std, 'to_rgb': self.to_rgb}
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mean={self.mean.tolist()}, std={self.std.tolist()}, '
                f'to_rgb={self.to_rgb})')


def _img_to_chw(img: np.ndarray) -> np.ndarray:
    """(H, W[, C]) -> contiguous (C, H, W)."""
    if img.ndim < 3:
        img = img[..., None]
    return np.ascontiguousarray(img.transpose(2, 0, 1))


class DefaultFormatBundle:
    """``img`` -> float32 tensor (3, H, W); ``gt_bboxes``, ``gt_bboxes_ignore``,
    ``gt_labels``, ``proposals`` -> tensors. Fills ``pad_shape``, ``scale_factor``
    (ones (4,)) and ``img_norm_cfg`` (identity) when no transform set them."""

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
            img = results['img']
            if self.img_to_float and img.dtype != np.float32:
                img = img.astype(np.float32)
            self._add_default_meta_keys(results)
            results['img'] = to_tensor(_img_to_chw(img))
        for key in self.GT_KEYS:
            if key in results:
                results[key] = to_tensor(results[key])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(img_to_float={self.img_to_float})'
