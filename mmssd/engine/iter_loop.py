"""``runner=dict(type='IterBasedRunner')``'s training loop: mmengine's, restarting the data
without a pause where it can.

mmengine's ``IterBasedTrainLoop`` draws batches from an endless iterator that, at the end
of each pass over the data, logs a warning and sleeps 2 s before the next pass ("prevent
possible deadlock during epoch transition", as mmcv 1.x's ``IterLoader`` did). The pause
guards the restart of a loader's worker processes; a loader without workers (``data.
workers_per_gpu=0``) restarts no process, yet paused all the same: a run over 8 images in
batches of 4 spent 2 s waiting for every 2 iterations. :class:`RestartingLoaderIterator`
pauses only where worker processes restart, and says once, not at every pass, that the
data restarts.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop as MMEngineIterBasedTrainLoop
from torch.utils.data import DataLoader

from mmssd.registry import LOOPS

#: Seconds mmengine (and mmcv 1.x) pause before restarting a loader's worker processes.
WORKER_RESTART_PAUSE = 2.0


class RestartingLoaderIterator:
    """Endless batches from ``dataloader``: pass after pass, the sampler's epoch set before
    each (for shuffling samplers), with :data:`WORKER_RESTART_PAUSE` before a pass only
    when the loader starts new worker processes for it (``num_workers > 0`` without
    ``persistent_workers``)."""

    def __init__(self, dataloader: DataLoader, first_pass: Iterator | None = None) -> None:
        self._dataloader = dataloader
        self._iterator: Iterator = iter(dataloader) if first_pass is None else first_pass
        self._epoch = 0

    def __iter__(self) -> RestartingLoaderIterator:
        return self

    def restarts_workers(self) -> bool:
        """Whether a new pass over the data starts new worker processes."""
        loader = self._dataloader
        return loader.num_workers > 0 and not loader.persistent_workers

    def __next__(self) -> Any:
        try:
            return next(self._iterator)
        except StopIteration:
            pass
        if self._epoch == 0:
            print_log('The data loader reached its end; it restarts for the next '
                      'iterations (once per pass over the data).', logger='current')
        self._epoch += 1
        sampler = getattr(self._dataloader, 'sampler', None)
        if not hasattr(sampler, 'set_epoch'):
            sampler = getattr(getattr(self._dataloader, 'batch_sampler', None), 'sampler', None)
        if hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(self._epoch)
        if self.restarts_workers():
            time.sleep(WORKER_RESTART_PAUSE)
        self._iterator = iter(self._dataloader)
        return next(self._iterator)


@LOOPS.register_module()
class IterBasedTrainLoop(MMEngineIterBasedTrainLoop):
    """mmengine's ``IterBasedTrainLoop`` (same arguments) drawing its batches from a
    :class:`RestartingLoaderIterator`.

    The first pass is the one mmengine's loop opened: opening another would draw torch's
    random generator once more (a loader draws its workers' base seed), and the model's
    initial weights, drawn later, would differ from mmengine's for the same seed.
    """

    def __init__(self, runner, dataloader: DataLoader | dict, *args, **kwargs) -> None:
        super().__init__(runner, dataloader, *args, **kwargs)
        opened = getattr(self.dataloader_iterator, '_iterator', None)
        self.dataloader_iterator = RestartingLoaderIterator(self.dataloader, opened)
