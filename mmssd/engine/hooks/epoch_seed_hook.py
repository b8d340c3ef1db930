"""Random streams that depend on the epoch only, so a resumed run repeats them."""
from __future__ import annotations

import os
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from mmssd.registry import HOOKS

RANK_STRIDE = 1_000_003  # a prime: ranks never share a stream


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseed the global generators with ``seed + epoch`` (plus a rank offset) before
    each training epoch.

    mmengine seeds once at start-up, so after ``--auto-resume`` the augmentations of the
    resumed epoch would differ from those of an uninterrupted run. Reseeding per epoch
    makes the data of epoch ``e`` a function of ``(seed, e, rank)`` alone: in the main
    process (``workers_per_gpu=0``) and in loader workers, whose seeds are drawn from
    torch's generator when the epoch's iterator starts (see :func:`seed_worker`;
    persistent workers keep their streams across epochs and so are exact only when not
    resumed). Does nothing when no seed is set.
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        if runner.seed is None:
            return
        rank = int(os.environ.get('RANK', 0))
        seed_everything(runner.seed + runner.epoch + rank * RANK_STRIDE)
