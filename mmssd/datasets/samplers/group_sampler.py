"""Aspect-ratio grouped sampling, mmdetection 2.x's ``GroupSampler`` /
``DistributedGroupSampler`` as mmengine data samplers.

Each image belongs to the group ``dataset.flag[i]`` (1: wider than tall, 0: otherwise;
see :meth:`mmssd.datasets.CustomDataset._set_group_flag`). Every epoch, each group is
shuffled and filled up to a multiple of ``samples_per_gpu * num_replicas`` by repeating
its own images (the first ones of its shuffled order, cycling when the group is smaller
than the fill), then cut into chunks of ``samples_per_gpu`` images. The chunks of all
groups are shuffled together and dealt to the processes in turn. A DataLoader with
``batch_size=samples_per_gpu`` over this sampler therefore only builds

- full batches: never a last batch of one image (which BatchNorm cannot train on);
- batches of one aspect-ratio group: less padding for ``keep_ratio=True`` pipelines;

and visits every image at least once per epoch. The order depends only on
``(seed, epoch)``, so runs with the same seed repeat it, on every process alike.
"""
from __future__ import annotations

from collections.abc import Iterator, Sized

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmssd.registry import DATA_SAMPLERS


def group_flags(dataset: Sized) -> np.ndarray:
    """``dataset.flag`` as an int64 array; a dataset without ``flag`` is one group.

    Raises:
        ValueError: ``flag`` does not have one entry per image.
    """
    flag = getattr(dataset, 'flag', None)
    if flag is None:
        return np.zeros(len(dataset), dtype=np.int64)
    flag = np.asarray(flag, dtype=np.int64).reshape(-1)
    if len(flag) != len(dataset):
        raise ValueError(f'{type(dataset).__name__}.flag has {len(flag)} entries for '
                         f'{len(dataset)} images; expected one aspect-ratio group per image')
    return flag


@DATA_SAMPLERS.register_module()
class GroupSampler(Sampler):
    """Indices in chunks of ``samples_per_gpu`` from one aspect-ratio group each.

    Works in one process and in several (``num_replicas``/``rank`` default to the
    running process group, as mmengine's ``DefaultSampler``): each process gets
    ``len(self)`` indices, the same number on all of them.

    Args:
        dataset: a dataset with a ``flag`` array (one group id per image); without one
            all images form one group.
        samples_per_gpu: images per batch and process (the DataLoader's ``batch_size``).
        seed: base of the per-epoch shuffle (``seed + epoch``); ``None`` draws one shared
            by all processes.
        num_replicas: number of processes (default: the world size).
        rank: this process's rank (default: the global rank).

    Raises:
        ValueError: ``samples_per_gpu`` below 1, or ``rank`` outside ``[0, num_replicas)``.
    """

    def __init__(self, dataset: Sized, samples_per_gpu: int = 1, seed: int | None = None,
                 num_replicas: int | None = None, rank: int | None = None) -> None:
        if not isinstance(samples_per_gpu, int) or samples_per_gpu < 1:
            raise ValueError(f'samples_per_gpu of {type(self).__name__} is '
                             f'{samples_per_gpu!r}; expected an integer >= 1')
        dist_rank, dist_world = get_dist_info()
        self.num_replicas = dist_world if num_replicas is None else num_replicas
        self.rank = dist_rank if rank is None else rank
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f'rank {self.rank} is outside [0, {self.num_replicas}) '
                             f'in {type(self).__name__}')
        self.dataset = dataset
        self.samples_per_gpu = samples_per_gpu
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.flag = group_flags(dataset)
        self.group_sizes = np.bincount(self.flag) if len(self.flag) else np.zeros(0, int)
        fill = samples_per_gpu * self.num_replicas
        #: images per group after filling (a multiple of ``samples_per_gpu * num_replicas``)
        self.group_totals = -(-self.group_sizes // fill) * fill
        self.num_samples = int(self.group_totals.sum()) // self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffle of ``epoch`` (mmengine's ``DistSamplerSeedHook`` calls this)."""
        self.epoch = epoch

    def epoch_chunks(self) -> torch.Tensor:
        """All processes' chunks of this epoch: (num_chunks, samples_per_gpu) int64.

        Chunk ``k`` goes to process ``k % num_replicas``.
        """
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        flag = torch.from_numpy(self.flag)
        chunks = []
        for group, total in enumerate(self.group_totals.tolist()):
            if total == 0:
                continue
            members = torch.nonzero(flag == group).flatten()
            members = members[torch.randperm(len(members), generator=generator)]
            # fill by cycling through the shuffled members: repeats are distinct images
            # as long as the fill is smaller than the group
            filled = members[torch.arange(total) % len(members)]
            chunks.append(filled.view(-1, self.samples_per_gpu))
        if not chunks:
            return torch.zeros((0, self.samples_per_gpu), dtype=torch.int64)
        chunks = torch.cat(chunks)
        return chunks[torch.randperm(len(chunks), generator=generator)]

    def __iter__(self) -> Iterator[int]:
        mine = self.epoch_chunks()[self.rank::self.num_replicas]
        return iter(mine.flatten().tolist())

    def __len__(self) -> int:
        return self.num_samples


@DATA_SAMPLERS.register_module()
class DistributedGroupSampler(GroupSampler):
    """mmdetection 2.x's name for the several-process case; :class:`GroupSampler`
    already deals its chunks to the processes, so this is the same sampler."""
