"""A loss that turns NaN/inf stops training at that iteration, with the loss terms and a
hint, and no checkpoint is written from the diverged weights.

The run trains one normal epoch (3 iterations, then ``epoch_1.pth``), then the step
schedule multiplies the learning rate by 1e36: AdamW's first step of epoch 2 (iteration
4, loss still finite) overflows the activations, and the loss of iteration 5 is NaN. A
checkpoint due after a step whose loss was still finite is refused by the weights check
(unit test below).
"""
from __future__ import annotations

import os
import re
from types import SimpleNamespace

import pytest
import torch

from mmssd.apis import load_config
from mmssd.engine import CheckInvalidLossHook
from tests.helpers.tiny_coco import tiny_config, write_tiny_coco
from tests.helpers.tools import run_tool

SIZES = [(64, 48)] * 6
DIVERGE = '''
lr_config = dict(_delete_=True, policy='step', step=[1], gamma=1e36)
'''


@pytest.mark.slow
def test_huge_lr_stops_at_the_first_nan_iteration(tmp_path):
    root = write_tiny_coco(tmp_path / 'data', SIZES)
    config = tiny_config(tmp_path / 'cfg.py', root, epochs=3, extra=DIVERGE)
    work = tmp_path / 'work'
    result = run_tool(['tools/train.py', config, '--work-dir', work, '--seed', '0',
                       '--deterministic', '--no-validate'], check=False)
    assert result.returncode != 0
    lr = load_config(str(config)).optimizer.lr * 1e36
    match = re.search(r'FloatingPointError: loss became infinite or NaN at iteration (\d+): '
                      r'loss=(\S+), loss_cls=\S+, loss_bbox=\S+; training stopped: lower the '
                      rf'learning rate \(`optimizer.lr`, now {re.escape(f"{lr:g}")}\) or clip the '
                      r'gradients '
                      r'\(`optimizer_config = dict\(grad_clip=dict\(max_norm=35, '
                      r'norm_type=2\)\)`\); no checkpoint was written from these weights',
                      result.stderr)
    assert match, result.stderr[-3000:]
    nan_iter = int(match.group(1))
    assert nan_iter == 5  # iteration 4 (epoch 2's first) took the huge step
    assert match.group(2) in ('nan', 'inf')
    saved = sorted(p.name for p in work.glob('*.pth'))
    assert saved == ['epoch_1.pth', 'latest.pth']
    assert os.readlink(work / 'latest.pth') == 'epoch_1.pth'
    state = torch.load(work / 'epoch_1.pth', weights_only=True)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert not list(work.glob('*.tmp*'))


def fake_runner(it: int = 7):
    optim = SimpleNamespace(get_lr=lambda: {'lr': [0.5]})
    return SimpleNamespace(iter=it, optim_wrapper=optim)


def test_diverged_weights_are_never_saved():
    hook = CheckInvalidLossHook(interval=1)
    good = {'state_dict': {'w': torch.ones(3), 'n': torch.tensor(4)}}
    hook.before_save_checkpoint(fake_runner(), good)
    bad = {'state_dict': {'w': torch.ones(3), 'head.bias': torch.tensor([0.0, float('inf')])}}
    with pytest.raises(FloatingPointError, match=(
            r'the weights diverged: head.bias holds NaN or inf at iteration 7; training '
            r'stopped: lower the learning rate \(`optimizer.lr`, now 0.5\)')):
        hook.before_save_checkpoint(fake_runner(), bad)
