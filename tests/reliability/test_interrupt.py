"""Fault: SIGTERM (``kill``, ``scancel``, ``docker stop``) during training.

``tools/train.py`` is stopped in its second epoch: it must exit at once with
``128 + SIGTERM``, say where it stopped and which complete checkpoint to continue from,
and leave no partial or temporary file; ``--auto-resume`` (here in-process, to save a
second interpreter start) then continues from that checkpoint to the end. Ctrl-C takes
the same path (tests/apis/test_stop_on_signals.py).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.helpers.tiny_coco import tiny_config, write_tiny_coco
from tests.helpers.tools import REPO, load_tool, single_thread_env

EPOCHS = 3  # of 2 iterations each

pytestmark = pytest.mark.slow  # a tool run stopped, then resumed in-process


def train_command(config: Path, work: Path, *extra: str) -> list[str]:
    return [sys.executable, 'tools/train.py', str(config), '--work-dir', str(work),
            '--no-validate', '--seed', '0', *extra]


def test_sigterm_stops_at_once_and_auto_resume_continues(tmp_path: Path):
    root = write_tiny_coco(tmp_path / 'data', [(64, 64)] * 4)
    config = tiny_config(tmp_path / 'tiny.py', root, batch=2, epochs=EPOCHS)
    work = tmp_path / 'work'
    proc = subprocess.Popen(train_command(config, work), cwd=REPO, env=single_thread_env(),
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if re.search(r'Epoch\(train\)\s+\[2\]\[1/2\]', line):
            proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            break
    output = proc.communicate(timeout=60)[0]
    stopped_in = time.monotonic() - sent
    assert proc.returncode == 128 + signal.SIGTERM, ''.join(seen[-30:]) + output[-3000:]
    assert stopped_in < 10, f'took {stopped_in:.1f} s to stop'

    # the message, with the state it describes checked against the files
    found = re.search(r'training stopped by SIGTERM after (\d+) epochs \((\d+) iterations\)'
                      r'; no partial file was left, the newest complete checkpoint is '
                      r'(\S+); continue from it with --auto-resume \(same config and '
                      r'--work-dir\)\n', output)
    assert found, output[-3000:]
    epochs, iterations, newest = int(found[1]), int(found[2]), found[3]
    assert 1 <= epochs < EPOCHS and iterations in (2 * epochs, 2 * epochs + 1)
    assert newest in (f'{work}/epoch_{epochs}.pth', f'{work}/epoch_{epochs + 1}.pth')
    assert 'Traceback' not in output
    assert (work / 'last_checkpoint').read_text() == newest
    assert (work / 'latest.pth').resolve() == Path(newest)
    names = [p.name for p in work.iterdir()]
    assert not [n for n in names if n.endswith('.part') or '.tmp' in n], names
    saved = sorted(work.glob('epoch_*.pth'))
    assert saved and saved[-1] == Path(newest)
    for path in saved:  # every checkpoint on disk is complete
        assert torch.load(path, weights_only=True)['meta']['epoch'] == int(path.stem[6:])

    start = torch.load(newest, weights_only=True)['meta']
    load_tool('tools/train.py').main(train_command(config, work, '--auto-resume')[2:])
    final = torch.load(work / f'epoch_{EPOCHS}.pth', weights_only=True)['meta']
    assert (final['epoch'], final['iter']) == (EPOCHS, 2 * EPOCHS)
    log = sorted(work.glob('*/vis_data/scalars.json'))[-1]  # the resumed run's
    iters = [json.loads(line)['iter'] for line in log.read_text().splitlines()]
    assert iters == list(range(start['iter'] + 1, 2 * EPOCHS + 1))
    assert os.readlink(work / 'latest.pth') == f'epoch_{EPOCHS}.pth'
