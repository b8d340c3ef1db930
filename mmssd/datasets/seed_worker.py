"""``seed_worker``: loader workers seeded from the loader, not from a constant."""
from __future__ import annotations

import random

import numpy as np
import torch

from mmssd.registry import FUNCTIONS


@FUNCTIONS.register_module()
def seed_worker(worker_id: int) -> None:
    """Seed numpy and ``random`` in a loader worker from torch's seed for that worker.

    torch gives worker ``i`` the seed ``base + i``, with ``base`` drawn from the main
    process's generator each time an iterator starts. mmengine's default seeds numpy with
    ``seed + i`` instead, the same numbers in every epoch: the same augmentations each
    epoch when workers are re-created.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
