"""Checkpoints are written atomically: a killed writer never leaves a truncated file, a full
disk is named and leaves the old file."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

from mmssd.engine.checkpoint import (
    AtomicLocalBackend,
    DiskFullError,
    install_checkpointing,
    write_atomically,
)


def test_mmengine_local_writes_go_through_the_atomic_backend(tmp_path):
    install_checkpointing()
    assert isinstance(get_file_backend(str(tmp_path / 'a.pth')), AtomicLocalBackend)
    save_checkpoint({'state_dict': {'w': torch.arange(3.)}}, str(tmp_path / 'a.pth'))
    loaded = torch.load(tmp_path / 'a.pth', weights_only=True)
    assert torch.equal(loaded['state_dict']['w'], torch.arange(3.))
    assert os.listdir(tmp_path) == ['a.pth']


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
