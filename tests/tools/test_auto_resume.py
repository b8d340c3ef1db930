"""A training killed with SIGKILL mid-epoch and restarted with ``--auto-resume`` ends
with exactly the weights of an uninterrupted run (``--seed 0 --deterministic``).

What makes this hold: checkpoints are written atomically (no truncated file to resume
from), ``EpochSeedHook`` reseeds the generators from the seed and the epoch, so the
resumed epoch repeats the augmentations of the uninterrupted one, and the sampler's
order is a function of the seed and the epoch.
"""
from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmssd.datasets import make_demo_dataset
from tests.helpers.tools import REPO, run_tool, single_thread_env

CONFIG = REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'
EPOCHS = 3

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('demo_resume')
    make_demo_dataset(root, num_train=32, num_val=4, seed=2)
    return root


def train_command(demo_root: Path, work_dir: Path, *extra: str) -> list[str]:
    """The arguments of ``python`` for the training (``tools/train.py ...``)."""
    return ['tools/train.py', str(CONFIG), '--work-dir', str(work_dir),
            '--seed', '0', '--deterministic', '--no-validate', *extra, '--cfg-options',
            f'runner.max_epochs={EPOCHS}', 'data.samples_per_gpu=8', 'data.workers_per_gpu=0',
            'log_config.interval=1', 'lr_config.warmup_iters=5',
            f'data.train.ann_file={demo_root}/annotations/instances_train.json',
            f'data.train.img_prefix={demo_root}/train/']


def kill_during_epoch_2(command: list[str]) -> str:
    """Start training and SIGKILL it at its second iteration of epoch 2; -> its output."""
    proc = subprocess.Popen([sys.executable, *command], cwd=REPO, env=single_thread_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        # iterations per epoch: 32 images in full batches of one aspect-ratio group
        if re.search(r'Epoch\(train\)\s+\[2\]\[2/\d+\]', line):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, ''.join(seen[-40:])
    return ''.join(seen)


def test_killed_run_resumes_to_identical_weights(demo_root: Path, tmp_path: Path):
    straight, interrupted = tmp_path / 'straight', tmp_path / 'interrupted'
    run_tool(train_command(demo_root, straight))
    kill_during_epoch_2(train_command(demo_root, interrupted))
    assert (interrupted / 'epoch_1.pth').is_file()
    assert not (interrupted / f'epoch_{EPOCHS}.pth').exists()

    run_tool(train_command(demo_root, interrupted, '--auto-resume'))
    expected = torch.load(straight / f'epoch_{EPOCHS}.pth', weights_only=True)['state_dict']
    resumed = torch.load(interrupted / f'epoch_{EPOCHS}.pth', weights_only=True)['state_dict']
    assert expected.keys() == resumed.keys()
    different = [k for k in expected if not torch.equal(expected[k], resumed[k])]
    assert not different, f'{len(different)} tensors differ, e.g. {different[:3]}'
