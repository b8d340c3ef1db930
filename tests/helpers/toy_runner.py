"""A real mmengine ``Runner`` in a second, and spies on the methods it calls.

The tests of mmssd's hook points in mmengine (``docs/architecture.md``, "What mmssd relies
on in mmengine") train :class:`OneWeight` for a few epochs on the CPU with mmssd's
``LatestCheckpointHook``, validating after every epoch with :class:`ImprovingMetric`, so
that mmengine saves a regular and a best checkpoint each epoch and removes the old ones,
as in a real training run. The spies record which of mmssd's methods mmengine called.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmssd.engine.checkpoint import LatestCheckpointHook, SafeCheckpointHook

#: Epochs of :func:`train_toy_runner`; the metric improves after each one.
EPOCHS = 3


class OneWeight(BaseModel):
    """One parameter; ``loss`` mode gives a loss to minimise, ``predict`` one value."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs: torch.Tensor, data_samples: Any = None,
                mode: str = 'loss') -> Any:
        if mode == 'loss':
            return {'loss': ((self.w - 1) ** 2).sum()}
        return [self.w.detach().clone() for _ in range(len(inputs))]


class ImprovingMetric(BaseMetric):
    """``acc`` = the number of validations so far: every validation is a new best."""

    def __init__(self) -> None:
        super().__init__()
        self.validations = 0

    def process(self, data_batch: Any, data_samples: Any) -> None:
        self.results.append(1)

    def compute_metrics(self, results: list) -> dict:
        self.validations += 1
        return {'acc': float(self.validations)}


def train_toy_runner(work_dir: Path, runner_type: type[Runner] = Runner, cfg: Any = None,
                     **checkpoint: Any) -> Runner:
    """Train :class:`OneWeight` for :data:`EPOCHS` epochs (two iterations each, validated
    after each) with ``LatestCheckpointHook(interval=1, **checkpoint)`` in a
    ``runner_type`` given ``cfg``; returns the runner."""
    loader = torch.utils.data.DataLoader([{'inputs': torch.zeros(1)}] * 2, batch_size=1)
    runner = runner_type(
        model=OneWeight(), work_dir=str(work_dir), train_dataloader=loader,
        val_dataloader=loader, val_evaluator=Evaluator([ImprovingMetric()]),
        train_cfg=dict(by_epoch=True, max_epochs=EPOCHS, val_interval=1), val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=LatestCheckpointHook(interval=1, **checkpoint),
                           logger=None),
        custom_hooks=[SafeCheckpointHook()], default_scope='mmssd', log_level='ERROR',
        cfg=cfg)
    runner.train()
    return runner


def spy_on(monkeypatch: pytest.MonkeyPatch, cls: type, name: str,
           record: Any = None) -> list[tuple[str, Any]]:
    """Record every call of the method ``name`` that ``cls`` defines itself (its override
    of mmengine's), then run it.

    Returns the list the calls go to, one ``(caller, value)`` each: ``caller`` is the name
    of the function that made the call (mmengine's method), ``value`` is
    ``record(self, *args)``, or the positional arguments where ``record`` is None. Where
    ``cls`` does not define ``name`` itself (the override was renamed), nothing is patched
    and the list stays empty, so a test that expects calls fails as it would if mmengine
    stopped calling the override.
    """
    calls: list[tuple[str, Any]] = []
    original = vars(cls).get(name)
    if original is None:
        return calls

    @functools.wraps(original)
    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_code.co_name
        calls.append((caller, args if record is None else record(self, *args)))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, spy)
    return calls
