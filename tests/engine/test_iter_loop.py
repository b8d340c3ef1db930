"""``IterBasedRunner`` training: mmssd's loop restarts a loader without worker processes at
once (mmengine's paused 2 s at every pass over the data), pausing only where workers
restart, and sets the sampler's epoch before every pass."""
from __future__ import annotations

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop as MMEngineIterBasedTrainLoop
from mmengine.runner import Runner

from mmssd.engine import IterBasedTrainLoop, iter_loop
from mmssd.engine.config_translation.schedule import translate_loops
from tests.helpers.toy_runner import OneWeight

IMAGES, MAX_ITERS = 3, 8  # batches of 1: a new pass over the data every 3 iterations


class RecordingSampler(torch.utils.data.Sampler):
    """Indices ``0..IMAGES-1``, recording every ``set_epoch``."""

    def __init__(self) -> None:
        self.epochs: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)

    def __iter__(self):
        return iter(range(IMAGES))

    def __len__(self) -> int:
        return IMAGES


class RecordBatches(Hook):
    def __init__(self) -> None:
        self.seen: list[int] = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen.append(int(data_batch['inputs']))


def train(tmp_path, monkeypatch, **loader_args) -> tuple[Runner, list, list, RecordBatches]:
    """A real Runner with the loop that ``runner=dict(type='IterBasedRunner')`` translates
    to; returns it, the pauses, the sampler's epochs and the batches seen."""
    pauses: list[float] = []
    monkeypatch.setattr(iter_loop.time, 'sleep', pauses.append)
    loop = translate_loops(Config(dict(runner=dict(type='IterBasedRunner',
                                                   max_iters=MAX_ITERS))),
                           with_val=False)['train_cfg']
    sampler, recorder = RecordingSampler(), RecordBatches()
    loader = torch.utils.data.DataLoader([{'inputs': i} for i in range(IMAGES)],
                                         sampler=sampler, batch_size=1, **loader_args)
    runner = Runner(model=OneWeight(), work_dir=str(tmp_path), train_dataloader=loader,
                    train_cfg=loop, optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
                    custom_hooks=[recorder], default_hooks=dict(checkpoint=None, logger=None),
                    default_scope='mmssd', log_level='ERROR')
    runner.train()
    return runner, pauses, sampler.epochs, recorder


def test_loader_without_workers_restarts_at_once(tmp_path, monkeypatch):
    runner, pauses, epochs, recorder = train(tmp_path, monkeypatch)
    assert type(runner.train_loop) is IterBasedTrainLoop
    assert recorder.seen == [0, 1, 2, 0, 1, 2, 0, 1]  # every batch, pass after pass
    # epoch 0 from mmengine's DistSamplerSeedHook as training starts, then one per restart
    assert epochs == [0, 1, 2] and pauses == []


@pytest.mark.parametrize('persistent, expected', [(False, [2.0, 2.0]), (True, [])])
def test_pause_only_where_worker_processes_restart(tmp_path, monkeypatch, persistent,
                                                   expected):
    _, pauses, _, recorder = train(tmp_path, monkeypatch, num_workers=1,
                                   persistent_workers=persistent)
    assert recorder.seen == [0, 1, 2, 0, 1, 2, 0, 1] and pauses == expected


class RecordRandom(Hook):
    """The first number torch's generator gives once training starts (after the loop is
    built and the model initialised)."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == 0:
            self.first = torch.rand(1).item()


@pytest.mark.parametrize('num_workers', [0, 1])
def test_random_numbers_stay_mmengines(tmp_path, num_workers):
    """Same seed, same random numbers as mmengine's loop: mmssd's loop opens no second pass
    over the data (which would draw torch's generator once more)."""
    firsts = []
    for loop_type in (MMEngineIterBasedTrainLoop, IterBasedTrainLoop):
        recorder = RecordRandom()
        loader = torch.utils.data.DataLoader([{'inputs': i} for i in range(IMAGES)],
                                             batch_size=1, num_workers=num_workers)
        Runner(model=OneWeight(), work_dir=str(tmp_path / loop_type.__module__),
               train_dataloader=loader, train_cfg=dict(type=loop_type, max_iters=2),
               optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
               custom_hooks=[recorder], default_hooks=dict(checkpoint=None, logger=None),
               randomness=dict(seed=0), default_scope='mmssd', log_level='ERROR').train()
        firsts.append(recorder.first)
    assert firsts[0] == firsts[1]
