"""Project hooks: class-count check, invalid-loss stop, latest.pth link."""
import math
import os
from types import SimpleNamespace

import pytest
import torch

from mmssd.engine import CheckInvalidLossHook, NumClassCheckHook
from mmssd.engine.checkpoint import point_latest_at


def fake_runner(num_classes: int, classes: tuple, it: int = 0):
    dataset = SimpleNamespace(metainfo={'classes': classes})
    model = SimpleNamespace(bbox_head=SimpleNamespace(num_classes=num_classes))
    loader = SimpleNamespace(dataset=dataset)
    return SimpleNamespace(model=model, train_dataloader=loader, val_dataloader=loader, iter=it)


def test_num_class_check_passes_and_fails_with_the_fix():
    hook = NumClassCheckHook()
    hook.before_train_epoch(fake_runner(2, ('cat', 'dog')))
    with pytest.raises(ValueError, match=r'num_classes` is 80.*num_classes=2'):
        hook.before_val_epoch(fake_runner(80, ('cat', 'dog')))


@pytest.mark.parametrize('bad', [math.nan, math.inf])
def test_invalid_loss_stops_with_iteration_and_terms(bad):
    hook = CheckInvalidLossHook(interval=1)
    outputs = {'loss': torch.tensor(bad), 'loss_cls': torch.tensor(bad),
               'loss_bbox': torch.tensor(0.5)}
    with pytest.raises(FloatingPointError, match=r'iteration 8: loss=.*loss_cls=.*loss_bbox=0.5'):
        hook.after_train_iter(fake_runner(1, ('a',), it=7), 0, None, outputs)
    hook.after_train_iter(fake_runner(1, ('a',), it=7), 0, None, {'loss': torch.tensor(1.0)})


def test_latest_link_follows_newest_checkpoint(tmp_path):
    for epoch in (1, 2):
        (tmp_path / f'epoch_{epoch}.pth').write_bytes(b'x' * epoch)
        link = point_latest_at(str(tmp_path / f'epoch_{epoch}.pth'))
        assert os.readlink(link) == f'epoch_{epoch}.pth'
    assert (tmp_path / 'latest.pth').read_bytes() == b'xx'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth', 'epoch_2.pth',
                                                          'latest.pth']
