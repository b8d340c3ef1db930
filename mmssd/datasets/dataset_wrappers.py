"""Dataset wrappers of mmdetection 2.x: ``ConcatDataset``, ``RepeatDataset``,
``ClassBalancedDataset``.

Each accepts built datasets or their configs (built with
:func:`mmssd.datasets.build_dataset`, so list ``ann_file`` configs work inside), exposes
the wrapped ``metainfo`` and ``CLASSES``, a ``flag`` array (aspect-ratio groups, one per
item) when the wrapped datasets have one, and ``get_ann_info`` / ``get_cat_ids`` by the
wrapper's own index.
"""
from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from torch.utils.data import ConcatDataset as TorchConcatDataset
from torch.utils.data import Dataset

from mmssd.registry import DATASETS

from .builder import build_dataset


def _describe(dataset: Dataset) -> str:
    ann_file = getattr(dataset, 'ann_file', None)
    return type(dataset).__name__ + (f' (ann_file={ann_file})' if ann_file else '')


def check_same_classes(datasets: Sequence[Dataset]) -> tuple[str, ...] | None:
    """The common ``CLASSES`` of ``datasets``.

    Raises:
        ValueError: one differs; names it, its classes and those of ``datasets[0]``.
    """
    first = getattr(datasets[0], 'CLASSES', None)
    for i, dataset in enumerate(datasets[1:], 1):
        classes = getattr(dataset, 'CLASSES', None)
        if tuple(classes or ()) != tuple(first or ()):
            raise ValueError(f'ConcatDataset: datasets[{i}] {_describe(dataset)} has CLASSES '
                             f'{classes} but datasets[0] {_describe(datasets[0])} has {first}; '
                             'concatenated datasets must share classes (set `classes`)')
    return first


@DATASETS.register_module()
class ConcatDataset(TorchConcatDataset):
    """Datasets one after the other (mmdetection 2.x ``ConcatDataset``).

    ``metainfo`` is that of ``datasets[0]`` (a copy): classes and category ids are
    common to all; ``ann_file`` / ``year`` are the first dataset's. ``separate_eval`` is
    kept for 2.x configs: mmengine's evaluator scores the concatenation as one dataset.

    Args:
        datasets: built datasets or configs (at least one), all with the same CLASSES.
        separate_eval: 2.x flag, stored as an attribute.
    """

    def __init__(self, datasets: Sequence[Dataset | dict], separate_eval: bool = True) -> None:
        if len(datasets) == 0:
            raise ValueError('ConcatDataset: `datasets` is empty; expected at least one')
        built = [build_dataset(d) for d in datasets]
        super().__init__(built)
        self.separate_eval = separate_eval
        self.CLASSES = check_same_classes(built)
        if all(hasattr(d, 'flag') for d in built):
            self.flag = np.concatenate([d.flag for d in built])

    @property
    def metainfo(self) -> dict:
        return dict(self.datasets[0].metainfo)

    def locate(self, idx: int) -> tuple[int, int]:
        """``(dataset index, sample index in it)`` of global index ``idx`` (negative ok)."""
        if idx < 0:
            if -idx > len(self):
                raise IndexError(f'index {idx} out of range for length {len(self)}')
            idx += len(self)
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        if dataset_idx >= len(self.datasets):
            raise IndexError(f'index {idx} out of range for length {len(self)}')
        start = self.cumulative_sizes[dataset_idx - 1] if dataset_idx > 0 else 0
        return dataset_idx, idx - start

    def get_ann_info(self, idx: int) -> dict:
        dataset_idx, sample_idx = self.locate(idx)
        return self.datasets[dataset_idx].get_ann_info(sample_idx)

    def get_cat_ids(self, idx: int) -> list[int]:
        dataset_idx, sample_idx = self.locate(idx)
        return self.datasets[dataset_idx].get_cat_ids(sample_idx)


@DATASETS.register_module()
class RepeatDataset(Dataset):
    """``dataset`` repeated ``times`` times: one "epoch" walks it ``times`` times.

    Useful when a dataset is small and per-epoch overhead (data loader start-up,
    validation) would dominate.

    Args:
        dataset: the dataset, or its config.
        times: number of repeats (>= 1).
    """

    def __init__(self, dataset: Dataset | dict, times: int) -> None:
        if int(times) != times or times < 1:
            raise ValueError(f'RepeatDataset: `times` must be a positive integer, got {times!r}')
        self.dataset = build_dataset(dataset)
        self.times = int(times)
        self.CLASSES = getattr(self.dataset, 'CLASSES', None)
        if hasattr(self.dataset, 'flag'):
            self.flag = np.tile(self.dataset.flag, self.times)
        self._ori_len = len(self.dataset)

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's ``metainfo`` (classes, category ids, annotation file)."""
        return self.dataset.metainfo

    def get_ann_info(self, idx: int) -> dict:
        return self.dataset.get_ann_info(idx % self._ori_len)

    def get_cat_ids(self, idx: int) -> list[int]:
        return self.dataset.get_cat_ids(idx % self._ori_len)

    def __getitem__(self, idx: int) -> dict:
        return self.dataset[idx % self._ori_len]

    def __len__(self) -> int:
        return self.times * self._ori_len


def repeat_factors(cat_ids_per_image: Sequence[set], oversample_thr: float,
                   empty_category: object | None) -> list[float]:
    """Repeat factor of each image for class-balanced sampling (LVIS, mmdet 2.x).

    ``f_c`` is the fraction of images containing category ``c`` (over all images);
    ``r_c = max(1, sqrt(oversample_thr / f_c))``; an image's factor is the largest
    ``r_c`` of its categories, 1 for an image without categories.

    Args:
        cat_ids_per_image: the set of category ids of each image.
        oversample_thr: frequency below which a category is oversampled.
        empty_category: when not None, images without categories count as having this
            pseudo category (so rare empty images are oversampled too).
    """
    images = [set(c) or ({empty_category} if empty_category is not None else set())
              for c in cat_ids_per_image]
    counts: dict = defaultdict(int)
    for cats in images:
        for cat in cats:
            counts[cat] += 1
    num = max(len(images), 1)
    cat_repeat = {cat: max(1.0, math.sqrt(oversample_thr / (n / num))) for cat, n in counts.items()}
    return [max((cat_repeat[c] for c in cats), default=1.0) for cats in images]


@DATASETS.register_module()
class ClassBalancedDataset(Dataset):
    """Images of rare categories repeated (mmdetection 2.x ``ClassBalancedDataset``).

    Image ``i`` appears ``ceil(r_i)`` times, with ``r_i`` from :func:`repeat_factors`
    over ``dataset.get_cat_ids(i)`` (deterministic rounding up, as mmdet 2.x; the LVIS
    paper rounds stochastically).

    ``filter_empty_gt`` follows mmdet 2.x, where it filters nothing: with ``True``
    images without categories keep a factor of 1 (and still count in the
    denominator of ``f_c``); with ``False`` they form a pseudo category
    ``len(CLASSES)``, oversampled like any other when rare.

    Args:
        dataset: the dataset (with ``get_cat_ids``), or its config.
        oversample_thr: category frequency threshold ``t`` (e.g. 1e-3 for LVIS).
        filter_empty_gt: see above.
    """

    def __init__(self, dataset: Dataset | dict, oversample_thr: float,
                 filter_empty_gt: bool = True) -> None:
        if not oversample_thr > 0:
            raise ValueError(f'ClassBalancedDataset: `oversample_thr` must be > 0, got '
                             f'{oversample_thr!r}')
        self.dataset = build_dataset(dataset)
        if not hasattr(self.dataset, 'get_cat_ids'):
            raise TypeError(f'ClassBalancedDataset: {_describe(self.dataset)} has no '
                            'get_cat_ids(idx); it cannot be class-balanced')
        self.oversample_thr = oversample_thr
        self.filter_empty_gt = filter_empty_gt
        self.CLASSES = getattr(self.dataset, 'CLASSES', None)
        empty = None if filter_empty_gt else len(self.CLASSES or ())
        self.repeat_factors = repeat_factors(
            [set(self.dataset.get_cat_ids(i)) for i in range(len(self.dataset))],
            oversample_thr, empty)
        self.repeat_indices = [i for i, r in enumerate(self.repeat_factors)
                               for _ in range(math.ceil(r))]
        if hasattr(self.dataset, 'flag'):
            self.flag = np.asarray(self.dataset.flag)[self.repeat_indices].astype(np.uint8)

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def get_ann_info(self, idx: int) -> dict:
        return self.dataset.get_ann_info(self.repeat_indices[idx])

    def get_cat_ids(self, idx: int) -> list[int]:
        return self.dataset.get_cat_ids(self.repeat_indices[idx])

    def __getitem__(self, idx: int) -> dict:
        return self.dataset[self.repeat_indices[idx]]

    def __len__(self) -> int:
        return len(self.repeat_indices)
