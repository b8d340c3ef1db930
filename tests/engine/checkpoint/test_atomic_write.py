"""Checkpoints are written atomically: a killed writer never leaves a truncated file, a full
disk is named and leaves the old file."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from mmengine import fileio
from mmengine.fileio import LocalBackend, get_file_backend, io, register_backend
from mmengine.runner.checkpoint import save_checkpoint

from mmssd.engine.checkpoint import (
    AtomicLocalBackend,
    DiskFullError,
    LatestCheckpointHook,
    install_checkpointing,
    write_atomically,
)
from tests.helpers.toy_runner import EPOCHS, spy_on, train_toy_runner


def test_mmengine_local_writes_go_through_the_atomic_backend(tmp_path):
    install_checkpointing()
    assert isinstance(get_file_backend(str(tmp_path / 'a.pth')), AtomicLocalBackend)
    save_checkpoint({'state_dict': {'w': torch.arange(3.)}}, str(tmp_path / 'a.pth'))
    loaded = torch.load(tmp_path / 'a.pth', weights_only=True)
    assert torch.equal(loaded['state_dict']['w'], torch.arange(3.))
    assert os.listdir(tmp_path) == ['a.pth']


def test_install_evicts_mmengines_cached_backend_and_a_runner_saves_atomically(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """mmengine's ``fileio.put`` / ``put_text`` / ``dump`` reuse the backend cached for a
    prefix in ``io.backend_instances``; a plain ``LocalBackend`` cached before
    ``install_checkpointing`` must not outlive it, or those writes would silently stay
    non-atomic. A real ``Runner`` then writes every checkpoint through
    ``AtomicLocalBackend.put``."""
    monkeypatch.setattr(io, 'backend_instances', {})  # fails if mmengine renames the cache
    register_backend('local', LocalBackend, force=True, prefixes='')
    fileio.put(b'before', tmp_path / 'before.bin')  # mmengine caches a LocalBackend
    stale = list(io.backend_instances.values())
    assert [type(backend) for backend in stale] == [LocalBackend]
    install_checkpointing()
    assert not any(backend in stale for backend in io.backend_instances.values()), (
        'install_checkpointing left mmengine\'s cached LocalBackend in io.backend_instances')

    puts = spy_on(monkeypatch, AtomicLocalBackend, 'put', lambda backend, obj, path: Path(path))
    fileio.put(b'after', tmp_path / 'after.bin')
    assert [path for _, path in puts] == [tmp_path / 'after.bin']
    runner = train_toy_runner(tmp_path / 'work', save_best='acc', rule='greater')
    work = tmp_path / 'work'
    expected = {work / f'{kind}epoch_{i}.pth' for kind in ('', 'best_acc_')
                for i in range(1, EPOCHS + 1)}
    assert expected <= {path for _, path in puts}, (
        'mmengine wrote checkpoints without AtomicLocalBackend.put')
    hook = next(h for h in runner.hooks if isinstance(h, LatestCheckpointHook))
    assert isinstance(hook.file_backend, AtomicLocalBackend)


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / 'latest_data.bin'
    write_atomically(b'old', target)

    def disk_full(fd):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', disk_full)
    with pytest.raises(DiskFullError) as error:
        write_atomically(b'new' * 1000, target)
    assert str(error.value) == (f'the disk is full: writing {target} (3000 bytes) failed with '
                                '"No space left on device"; its previous version is unchanged '
                                'and no partial file was left')
    assert error.value.errno == 28 and error.value.filename == str(target)
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['latest_data.bin']


WRITER = textwrap.dedent('''
    import sys, torch
    from mmssd.engine.checkpoint import install_checkpointing
    from mmengine.runner.checkpoint import save_checkpoint
    install_checkpointing()
    path = sys.argv[1]
    i = 0
    while True:
        save_checkpoint({'i': i, 'w': torch.full((16_000_000,), float(i))}, path)
        if i == 0:
            print('first', flush=True)
        i += 1
''')


@pytest.mark.parametrize('delay', [0.1, 0.4])
def test_sigkill_during_saving_leaves_a_complete_checkpoint(tmp_path, delay):
    """A writer saving 64 MB checkpoints in a loop is killed at some point; the file on
    disk is always one whole checkpoint. (One ``write`` call of an in-memory buffer is
    not interrupted by SIGKILL either; this guards against streaming writers. A failed
    write -- disk full -- is the case above.)"""
    path = tmp_path / 'epoch_1.pth'
    proc = subprocess.Popen([sys.executable, '-c', WRITER, str(path)], stdout=subprocess.PIPE,
                            text=True)
    while proc.stdout.readline().strip() != 'first':  # mmengine logs to stdout first
        assert proc.poll() is None, 'the writer process died'
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ckpt = torch.load(path, weights_only=True)
    assert torch.equal(ckpt['w'], torch.full((16_000_000,), float(ckpt['i'])))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != 'epoch_1.pth']
    assert all(name.endswith('.part') for name in leftovers)
