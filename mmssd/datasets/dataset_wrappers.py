"""Dataset wrappers of mmdetection 2.x."""
from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset

from mmssd.registry import DATASETS


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
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.times = int(times)
        self.CLASSES = getattr(self.dataset, 'CLASSES', None)
        if hasattr(self.dataset, 'flag'):
            self.flag = np.tile(self.dataset.flag, self.times)
        self._ori_len = len(self.dataset)

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's ``metainfo`` (classes, category ids, annotation file)."""
        return self.dataset.metainfo

    def __getitem__(self, idx: int) -> dict:
        return self.dataset[idx % self._ori_len]

    def __len__(self) -> int:
        return self.times * self._ori_len
