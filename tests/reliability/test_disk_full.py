"""Fault: the disk fills up while a checkpoint is written.

The write of ``epoch_2.pth`` fails with ``ENOSPC`` after part of its bytes (a file object
that writes some bytes and then raises, as a full disk does). The run must stop with a
message saying the disk is full (file, bytes), leave no partial file, and keep
``epoch_1.pth``, ``latest.pth`` and ``last_checkpoint`` as they were, loadable with
``weights_only=True``, although ``max_keep_ckpts=1`` asks for epoch 1 to go once epoch 2
is saved.
"""
from __future__ import annotations

import errno
import os
import types
from pathlib import Path

import pytest
import torch

from mmssd.apis import build_train_runner, load_config
from mmssd.engine import DiskFullError
from mmssd.engine.checkpoint import atomic_write
from tests.helpers.tiny_coco import tiny_config, write_tiny_coco

pytestmark = [pytest.mark.slow,  # a 2-epoch run: ~8 s alone, 23 s on the loaded 2-core box
              pytest.mark.skipif(not os.path.isdir('/proc/self/fd'),
                                 reason='names open files through /proc/self/fd')]


class FullDiskFile:
    """A binary file on a disk with ``room`` bytes left: writes that much, then ENOSPC."""

    def __init__(self, file, room: int) -> None:
        self.file, self.room, self.asked = file, room, 0

    def write(self, data: bytes) -> int:
        self.asked += len(data)
        self.file.write(data[:self.room])
        self.file.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.file.close()


def fill_disk_when_writing(monkeypatch: pytest.MonkeyPatch, prefix: str) -> list:
    """Make the atomic writer's files whose name starts with ``prefix`` hit a full disk;
    returns the list of ``(temporary path, FullDiskFile)`` it handed out."""
    failed = []

    def fdopen(fd: int, *args, **kwargs):
        file = os.fdopen(fd, *args, **kwargs)
        path = os.readlink(f'/proc/self/fd/{fd}')
        if not os.path.basename(path).startswith(prefix):
            return file
        failed.append((path, FullDiskFile(file, room=4096)))
        return failed[-1][1]

    fake_os = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os)
                                       if not k.startswith('__')})
    fake_os.fdopen = fdopen
    monkeypatch.setattr(atomic_write, 'os', fake_os)
    return failed


def test_disk_full_keeps_the_previous_checkpoint(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch):
    root = write_tiny_coco(tmp_path / 'data', [(64, 64), (64, 64)])
    config = tiny_config(tmp_path / 'tiny.py', root, epochs=2,
                         extra='checkpoint_config = dict(interval=1, max_keep_ckpts=1)\n')
    work = tmp_path / 'work'
    runner = build_train_runner(load_config(str(config), work_dir=str(work)), validate=False)
    failed = fill_disk_when_writing(monkeypatch, '.epoch_2.pth.')
    with pytest.raises(DiskFullError) as error:
        runner.train()

    assert len(failed) == 1 and failed[0][1].asked > 100_000  # the whole checkpoint
    assert str(error.value) == (
        f'the disk is full: writing {work}/epoch_2.pth ({failed[0][1].asked} bytes) failed '
        'with "No space left on device"; it was not created and no partial file was left; '
        f'the newest complete checkpoint is still {work}/epoch_1.pth (latest.pth, '
        'last_checkpoint). Free space on that disk (or train with --work-dir on another '
        'disk), then continue with --auto-resume')
    assert error.value.errno == errno.ENOSPC
    assert not os.path.exists(failed[0][0])  # the partial temporary file is gone
    files = sorted(p.name for p in work.iterdir() if p.is_file() or p.is_symlink())
    assert files == ['epoch_1.pth', 'last_checkpoint', 'latest.pth', 'tiny.py']
    assert (work / 'last_checkpoint').read_text() == f'{work}/epoch_1.pth'
    assert os.readlink(work / 'latest.pth') == 'epoch_1.pth'
    checkpoint = torch.load(work / 'latest.pth', weights_only=True)
    assert checkpoint['meta']['epoch'] == 1
    assert checkpoint['state_dict'].keys() == runner.model.state_dict().keys()
