"""``GroupSampler``: full batches of one aspect-ratio group, every image each epoch,
reproducible from the seed, dealt to several processes without overlap (one process
and two gloo processes)."""
from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader

from mmssd.datasets import CocoDataset, DistributedGroupSampler, GroupSampler
from mmssd.registry import DATA_SAMPLERS
from tests.helpers.tiny_coco import write_tiny_coco


class FlagSet(torch.utils.data.Dataset):
    """Item ``i`` is ``i``; ``flag`` as given."""

    def __init__(self, flag, length: int | None = None):
        self.flag = np.asarray(flag, dtype=np.uint8)
        self.length = len(self.flag) if length is None else length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> int:
        return i


#: 7 wide images, 4 tall ones, interleaved
FLAGS = [1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1]


def batches(sampler: GroupSampler, batch_size: int) -> list[list[int]]:
    loader = DataLoader(sampler.dataset, batch_size=batch_size, sampler=sampler,
                        collate_fn=list)
    return list(loader)


@pytest.mark.parametrize('samples_per_gpu', [1, 2, 3, 4])
def test_batches_are_full_single_group_and_cover_the_epoch(samples_per_gpu):
    dataset = FlagSet(FLAGS)
    sampler = GroupSampler(dataset, samples_per_gpu=samples_per_gpu, seed=3)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        got = batches(sampler, samples_per_gpu)
        assert all(len(b) == samples_per_gpu for b in got)
        assert all(len({FLAGS[i] for i in b}) == 1 for b in got)
        assert {i for b in got for i in b} == set(range(len(FLAGS)))
        # each group filled to the next multiple: 7 wide, 4 tall images
        fill = samples_per_gpu
        assert len(sampler) == -(-7 // fill) * fill + -(-4 // fill) * fill
        assert sum(len(b) for b in got) == len(sampler)


def test_seeded_runs_repeat_and_epochs_differ():
    dataset = FlagSet(FLAGS)
    first = GroupSampler(dataset, samples_per_gpu=2, seed=5)
    again = GroupSampler(dataset, samples_per_gpu=2, seed=5)
    other = GroupSampler(dataset, samples_per_gpu=2, seed=6)
    assert list(first) == list(again)
    assert list(first) != list(other)
    epoch0 = list(first)
    first.set_epoch(1)
    again.set_epoch(1)
    assert list(first) == list(again) != epoch0


def test_processes_get_disjoint_full_batches_covering_the_epoch():
    dataset = FlagSet(FLAGS)
    parts = [GroupSampler(dataset, samples_per_gpu=2, seed=1, num_replicas=3, rank=r)
             for r in range(3)]
    assert len({len(p) for p in parts}) == 1  # every process runs as many iterations
    # groups filled to multiples of 2 x 3: 7 wide -> 12, 4 tall -> 6
    assert len(parts[0]) == (12 + 6) // 3
    chunks = [tuple(b) for p in parts for b in batches(p, 2)]
    assert all(len({FLAGS[i] for i in c}) == 1 for c in chunks)
    assert {i for c in chunks for i in c} == set(range(len(FLAGS)))
    # together the processes take exactly the epoch's chunks, each once
    assert sorted(chunks) == sorted(map(tuple, parts[0].epoch_chunks().tolist()))


def test_small_group_and_bad_arguments():
    # a group smaller than the batch is filled by repeating its image
    sampler = GroupSampler(FlagSet([0, 1, 1, 1]), samples_per_gpu=4, seed=0)
    got = sorted(map(sorted, batches(sampler, 4)))
    assert got[0] == [0, 0, 0, 0]
    assert set(got[1]) == {1, 2, 3} and len(got[1]) == 4
    with pytest.raises(ValueError, match=r'samples_per_gpu of GroupSampler is 0; expected'):
        GroupSampler(FlagSet([0]), samples_per_gpu=0)
    with pytest.raises(ValueError, match=r'FlagSet.flag has 1 entries for 2 images'):
        GroupSampler(FlagSet([0], length=2), samples_per_gpu=2)


def test_registered_and_real_dataset_flags(tmp_path):
    """Built by name (as the runtime config does) on a COCO dataset whose ``flag``
    comes from the image sizes, 2.x's ``DistributedGroupSampler`` name too."""
    root = write_tiny_coco(tmp_path, sizes=[(40, 64), (64, 40), (48, 48), (80, 40),
                                            (40, 80)])
    dataset = CocoDataset(ann_file=str(root / 'ann.json'), img_prefix=str(root / 'imgs'),
                          pipeline=[], classes=('box',))
    assert dataset.flag.tolist() == [0, 1, 0, 1, 0]  # (width, height): wide -> 1
    for name in ('mmssd.GroupSampler', 'mmssd.DistributedGroupSampler'):
        sampler = DATA_SAMPLERS.build(dict(type=name, samples_per_gpu=2),
                                      default_args=dict(dataset=dataset, seed=0))
        assert isinstance(sampler, GroupSampler)
        order = list(sampler)
        got = [order[i:i + 2] for i in range(0, len(order), 2)]
        assert len(order) == 6 and set(order) == set(range(5))  # 2 wide, 3 tall -> 2 + 4
        assert all(len({int(dataset.flag[i]) for i in b}) == 1 for b in got)
    assert isinstance(sampler, DistributedGroupSampler)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, results: dict) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    try:
        sampler = GroupSampler(FlagSet(FLAGS), samples_per_gpu=2)  # seed drawn and shared
        results[rank] = (sampler.rank, sampler.num_replicas, sampler.seed, list(sampler))
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_share_the_seed_and_split_the_epoch():
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_worker, args=(_free_port(), results), nprocs=2)
        results = dict(results)
    assert [results[r][:2] for r in (0, 1)] == [(0, 2), (1, 2)]
    assert results[0][2] == results[1][2]
    chunks = [tuple(results[r][3][i:i + 2]) for r in (0, 1)
              for i in range(0, len(results[r][3]), 2)]
    assert len(results[0][3]) == len(results[1][3]) == (8 + 4) // 2
    assert all(len({FLAGS[i] for i in c}) == 1 for c in chunks)
    assert {i for c in chunks for i in c} == set(range(len(FLAGS)))
