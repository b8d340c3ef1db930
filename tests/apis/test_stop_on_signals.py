"""SIGTERM and SIGINT (Ctrl-C) become ``TrainingInterrupted``: a checkpoint write in
progress removes its temporary file, and the message names the checkpoint to resume."""
from __future__ import annotations

import os
import signal
import types
from pathlib import Path

import pytest

from mmssd.apis.interrupt import TrainingInterrupted, interruption_message, stop_on_signals
from mmssd.engine.checkpoint import atomic_write, write_atomically


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_signals_raise_and_the_previous_handlers_come_back(signum):
    before = signal.getsignal(signum)
    with pytest.raises(TrainingInterrupted) as stop, stop_on_signals():
        os.kill(os.getpid(), signum)
        pytest.fail('the signal did not stop the block')  # the handler raises first
    assert stop.value.signum == signum
    assert isinstance(stop.value, KeyboardInterrupt)  # DataLoader workers exit quietly
    assert signal.getsignal(signum) is before


def test_sigterm_in_the_middle_of_a_checkpoint_write(tmp_path: Path, monkeypatch):
    target = tmp_path / 'epoch_2.pth'
    write_atomically(b'old checkpoint', target)
    temporary = []

    class SignalledMidWrite:  # the file object of the temporary file
        def __init__(self, file) -> None:
            self.file = file

        def write(self, data: bytes) -> None:
            self.file.write(data[:10])
            self.file.flush()
            temporary.append(os.readlink(f'/proc/self/fd/{self.file.fileno()}'))
            os.kill(os.getpid(), signal.SIGTERM)
            self.file.write(data[10:])  # the handler raises before or after this line

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.file.close()

    fake_os = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os)
                                       if not k.startswith('__')})
    fake_os.fdopen = lambda fd, *args: SignalledMidWrite(os.fdopen(fd, *args))
    monkeypatch.setattr(atomic_write, 'os', fake_os)
    with pytest.raises(TrainingInterrupted), stop_on_signals():
        write_atomically(b'new checkpoint' * 1000, target)
    assert temporary and not os.path.exists(temporary[0])
    assert sorted(os.listdir(tmp_path)) == ['epoch_2.pth']
    assert target.read_bytes() == b'old checkpoint'


def test_the_message_names_the_checkpoint_to_resume(tmp_path: Path):
    assert interruption_message(signal.SIGTERM, str(tmp_path), 0, 3) == (
        'training stopped by SIGTERM after 0 epochs (3 iterations); no partial file was '
        'left, no checkpoint had been saved yet')
    (tmp_path / 'last_checkpoint').write_text(f'{tmp_path}/epoch_2.pth')
    assert interruption_message(signal.SIGINT, str(tmp_path), 2, 41) == (
        'training stopped by SIGINT after 2 epochs (41 iterations); no partial file was '
        f'left, the newest complete checkpoint is {tmp_path}/epoch_2.pth; continue from it '
        'with --auto-resume (same config and --work-dir)')
