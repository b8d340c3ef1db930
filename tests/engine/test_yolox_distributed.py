"""Under two gloo processes: YOLOX's random input size is process 0's in both, and
SyncNormHook leaves both with the mean of their BatchNorm states."""
from __future__ import annotations

import os
import random
import socket
from types import SimpleNamespace

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from mmssd.engine.hooks import SyncNormHook
from mmssd.models.detectors import YOLOX


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def worker(rank: int, port: int, results: dict) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    try:
        random.seed(rank)  # the processes' generators differ, as with a rank offset
        model = SimpleNamespace(_random_size_range=(10, 20), _default_input_size=(640, 640),
                                _size_multiplier=32)
        sizes = [YOLOX.random_size(model, torch.device('cpu')) for _ in range(5)]
        net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
        net[1].running_mean.fill_(float(rank * 2))  # 0 and 2: mean 1
        runner = SimpleNamespace(epoch=0, max_epochs=10, model=net)
        SyncNormHook(num_last_epochs=2, interval=1).after_train_epoch(runner)
        results[rank] = (sizes, net[1].running_mean.tolist())
    finally:
        dist.destroy_process_group()


def test_random_size_and_norm_states_agree_across_processes():
    results = mp.Manager().dict()
    mp.start_processes(worker, args=(free_port(), results), nprocs=2, start_method='fork')
    random.seed(0)
    expected = [(32 * m, 32 * m) for m in (random.randint(10, 20) for _ in range(5))]
    assert results[0][0] == results[1][0] == expected  # process 0's draws in both
    assert results[0][1] == results[1][1] == [1.0, 1.0]
