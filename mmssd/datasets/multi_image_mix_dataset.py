"""``MultiImageMixDataset``: a dataset wrapper for the mixing transforms (mmdetection 2.x).

The wrapped dataset's pipeline loads a sample (image and annotations, decoded once); the
wrapper's own ``pipeline`` then runs on it, and every transform with a
``get_indexes(dataset)`` method (``Mosaic``, ``MixUp``) first receives the loaded samples
of the indices it asks for as ``results['mix_results']``.

``skip_type_keys`` and ``dynamic_scale`` can change during training
(``YOLOXModeSwitchHook`` turns the mixing off for the last epochs). They live in shared
memory tensors, so loader workers that already exist (``persistent_workers=True``) see
a change at their next sample, without being restarted.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from mmssd.registry import DATASETS, TRANSFORMS

from .builder import build_dataset

#: Transforms that read an image from a file: they belong to the wrapped dataset.
LOADING_TYPES = ('LoadImageFromFile', 'LoadImageFromWebcam', 'LoadMultiChannelImageFromFiles')


def _type_name(transform: object) -> str:
    name = transform['type'] if isinstance(transform, dict) else type(transform).__name__
    return name.split('.')[-1] if isinstance(name, str) else name.__name__


@DATASETS.register_module()
class MultiImageMixDataset(Dataset):
    """Run a mixing ``pipeline`` over the samples of ``dataset``.

    Args:
        dataset: the wrapped dataset (or its config), whose pipeline loads images and
            annotations (``LoadImageFromFile``, ``LoadAnnotations``).
        pipeline: transform configs run after it (``Mosaic``, ``RandomAffine``, ``MixUp``,
            ..., then the formatting steps); no loading step.
        dynamic_scale: ``(w, h)`` put into ``results['scale']`` after each transform (for a
            following ``Resize``), or None.
        skip_type_keys: types of the ``pipeline`` transforms to skip.
        max_refetch: tries to get a non-``None`` result from the wrapped dataset and from
            each transform.

    Raises:
        ValueError: ``pipeline`` loads images (the wrapped dataset's pipeline does), or
            the wrapped dataset's pipeline does not; ``skip_type_keys`` names a type no
            transform has.
    """

    def __init__(self, dataset: Dataset | dict, pipeline: Sequence[dict],
                 dynamic_scale: tuple[int, int] | None = None,
                 skip_type_keys: Sequence[str] | None = None, max_refetch: int = 15) -> None:
        for i, transform in enumerate(pipeline):
            if _type_name(transform) in LOADING_TYPES:
                raise ValueError(
                    f'MultiImageMixDataset: `pipeline[{i}]` is {_type_name(transform)}, but '
                    'images are loaded by the wrapped dataset (`dataset.pipeline`); loading '
                    'them again would decode every image twice. Move the loading steps to '
                    '`dataset.pipeline` and keep the mixing steps in `pipeline`')
        self.dataset = build_dataset(dataset)
        inner = getattr(getattr(self.dataset, 'pipeline', None), 'transforms', None)
        if inner is not None and not any(_type_name(t) in LOADING_TYPES for t in inner):
            raise ValueError(
                'MultiImageMixDataset: the wrapped dataset\'s pipeline (`dataset.pipeline`) '
                f'loads no image ({[_type_name(t) for t in inner]}); it must load images and '
                "annotations, e.g. [dict(type='LoadImageFromFile'), "
                "dict(type='LoadAnnotations', with_bbox=True)]")
        self.pipeline = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        self.pipeline_types = [_type_name(t) for t in pipeline]
        self.CLASSES = getattr(self.dataset, 'CLASSES', None)
        if hasattr(self.dataset, 'flag'):
            self.flag = self.dataset.flag
        self.max_refetch = max_refetch
        # shared memory: persistent loader workers read the current values
        self._skip_mask = torch.zeros(len(self.pipeline), dtype=torch.bool).share_memory_()
        self._dynamic_scale = torch.full((2,), -1, dtype=torch.long).share_memory_()
        self.update_skip_type_keys(skip_type_keys)
        self.update_dynamic_scale(dynamic_scale)

    def __deepcopy__(self, memo: dict) -> MultiImageMixDataset:
        """A deep copy whose switches are in shared memory again (mmengine's ``Runner``
        deep-copies a dataset it is given; a plain tensor copy would not be shared with
        the loader workers forked from the copy)."""
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            setattr(new, key, copy.deepcopy(value, memo))
        new._skip_mask.share_memory_()
        new._dynamic_scale.share_memory_()
        return new

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's ``metainfo``."""
        return self.dataset.metainfo

    def get_ann_info(self, idx: int) -> dict:
        return self.dataset.get_ann_info(idx)

    def get_cat_ids(self, idx: int) -> list[int]:
        return self.dataset.get_cat_ids(idx)

    def __len__(self) -> int:
        return len(self.dataset)

    @property
    def skip_type_keys(self) -> tuple[str, ...]:
        """Types of the transforms skipped now."""
        mask = self._skip_mask.tolist()
        return tuple(dict.fromkeys(t for t, m in zip(self.pipeline_types, mask) if m))

    @property
    def dynamic_scale(self) -> tuple[int, int] | None:
        """``(w, h)`` put into ``results['scale']``, or None."""
        w, h = self._dynamic_scale.tolist()
        return None if w < 0 else (w, h)

    def update_skip_type_keys(self, skip_type_keys: Sequence[str] | None) -> None:
        """Skip the transforms of these types from the next sample on (every worker).

        Raises:
            ValueError: a type no ``TRANSFORMS`` entry has (a misspelt name).
        """
        keys = tuple(skip_type_keys or ())
        if isinstance(skip_type_keys, str):
            raise ValueError(f'`skip_type_keys` must be a list of transform types; got the '
                             f'string {skip_type_keys!r}')
        for key in keys:
            try:
                found = TRANSFORMS.get(key)
            except KeyError as error:  # the registry's message names the closest type
                raise ValueError(f'`skip_type_keys`: {error}') from error
            if found is None:
                raise ValueError(f'`skip_type_keys`: {key!r} is not a transform type; the '
                                 f'pipeline has {self.pipeline_types}')
        mask = torch.tensor([t in keys for t in self.pipeline_types], dtype=torch.bool)
        self._skip_mask.copy_(mask)

    def update_dynamic_scale(self, dynamic_scale: tuple[int, int] | None) -> None:
        """Set ``results['scale']`` after each transform to ``dynamic_scale`` (w, h)."""
        if dynamic_scale is None:
            self._dynamic_scale.fill_(-1)
            return
        if not isinstance(dynamic_scale, (tuple, list)) or len(dynamic_scale) != 2:
            raise ValueError(f'`dynamic_scale` must be a (w, h) pair; got {dynamic_scale!r}')
        self._dynamic_scale.copy_(torch.tensor([int(v) for v in dynamic_scale]))

    def _fetch(self, indexes: int | Sequence[int]) -> list[dict]:
        """The loaded samples of ``indexes`` (``None`` is refused, see ``max_refetch``)."""
        if isinstance(indexes, (int, np.integer)):
            indexes = [indexes]
        return [self.dataset[int(i)] for i in indexes]

    def __getitem__(self, idx: int) -> dict:
        results = self.dataset[idx]
        skip = self._skip_mask.tolist()
        scale = self.dynamic_scale
        for transform, skipped, name in zip(self.pipeline, skip, self.pipeline_types,
                                            strict=True):
            if skipped:
                continue
            get_indexes = getattr(transform, 'get_indexes', None)
            if get_indexes is not None:
                for _ in range(self.max_refetch):
                    mix = self._fetch(get_indexes(self.dataset))
                    if None not in mix:
                        results['mix_results'] = mix
                        break
                else:
                    raise RuntimeError(f'MultiImageMixDataset: the wrapped dataset returned None '
                                       f'{self.max_refetch} times for {name}; check '
                                       '`dataset.pipeline`')
            for _ in range(self.max_refetch):
                updated = transform(dict(results))
                if updated is not None:
                    results = updated
                    break
            else:
                raise RuntimeError(f'MultiImageMixDataset: {name} returned None '
                                   f'{self.max_refetch} times in a row; check `pipeline`')
            if scale is not None:
                results['scale'] = scale
            results.pop('mix_results', None)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.dataset!r}, pipeline={self.pipeline_types}, '
                f'skip_type_keys={self.skip_type_keys})')
