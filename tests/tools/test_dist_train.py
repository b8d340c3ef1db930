"""Distributed training and testing on CPU: ``tools/dist_train.sh`` / ``dist_test.sh``
(torchrun, gloo).

Two processes train the demo model (4 images each, 8 in all) through the real tools,
learn, validate and save; testing that checkpoint on two processes gives exactly the
metrics and detections of one process (results gathered in dataset order).

That two processes train *like one* with the same total batch is shown where it can be
shown exactly, on the gradient (``tests/engine/test_all_reduce_sync_bn.py``: with
``sync_bn`` DDP's gradient is the whole batch's up to float32 rounding). The mAP of a run
cannot show it to 0.02: training amplifies float rounding, and the demo recipe's mAP spreads
by far more than that across seeds (``docs/benchmarks.md``, "Distributed").
"""
from __future__ import annotations

import os
import pickle
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmssd.datasets import make_demo_dataset

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 15
PER_PROCESS_BATCH = 4

pytestmark = pytest.mark.slow

CONFIG = """
_base_ = '{repo}/configs/demo/ssdlite_mobilenetv2_demo.py'
data_root = '{root}/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', img_scale=(192, 192), keep_ratio=False),
    dict(type='RandomFlip', flip_ratio=0.0),
    dict(type='Normalize', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
         to_rgb=True),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
data = dict(
    workers_per_gpu=0,
    train=dict(ann_file=data_root + 'annotations/instances_train.json',
               img_prefix=data_root + 'train/', pipeline=train_pipeline),
    val=dict(ann_file=data_root + 'annotations/instances_val.json',
             img_prefix=data_root + 'val/'),
    test=dict(ann_file=data_root + 'annotations/instances_val.json',
              img_prefix=data_root + 'val/'))
runner = dict(max_epochs={epochs})
evaluation = dict(interval={epochs})
checkpoint_config = dict(interval={epochs})
log_config = dict(interval=5)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(*command: str) -> str:
    env = dict(os.environ, PORT=str(free_port()))
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return output


def losses(log: str) -> list[float]:
    return [float(x) for x in re.findall(r'Epoch\(train\).*?\sloss: ([\d.]+)', log)]


def val_map50(log: str) -> float:
    return float(re.findall(r'Epoch\(val\).*?bbox_mAP_50: ([\d.]+)', log)[-1])


@pytest.fixture(scope='module')
def config(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('demo_dist')
    make_demo_dataset(root, num_train=160, num_val=40, seed=4)
    path = root / 'dist_demo.py'
    path.write_text(CONFIG.format(repo=REPO, root=root, epochs=EPOCHS))
    return path


@pytest.fixture(scope='module')
def distributed(config: Path, tmp_path_factory) -> tuple[str, Path]:
    work = tmp_path_factory.mktemp('dist')
    log = run('bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', str(work),
              '--seed', '0', '--cfg-options', f'data.samples_per_gpu={PER_PROCESS_BATCH}')
    return log, work


def test_two_processes_train_validate_and_save(distributed):
    log, work = distributed
    assert 'Distributed training is not used' not in log
    assert (work / f'epoch_{EPOCHS}.pth').is_file()
    # 160 images in batches of 4 on each of 2 processes: 20 steps an epoch
    assert re.search(rf'Epoch\(train\)\s+\[{EPOCHS}\]\[20/20\]', log)
    steps = losses(log)  # rank 0's loss on its own 4 images, every 5 steps
    assert len(steps) == 4 * EPOCHS
    assert sum(steps[-4:]) < 0.5 * sum(steps[:4]), steps
    assert val_map50(log) >= 0.2, log[-3000:]  # 0.39 on the reference machine


def test_dist_test_gathers_all_results_in_dataset_order(config, distributed, tmp_path):
    _, work = distributed
    checkpoint = str(work / f'epoch_{EPOCHS}.pth')
    one = run(sys.executable, 'tools/test.py', str(config), checkpoint, '--eval', 'bbox',
              '--out', str(tmp_path / 'one.pkl'), '--work-dir', str(tmp_path / 'one'))
    two = run('bash', 'tools/dist_test.sh', str(config), checkpoint, '2', '--eval', 'bbox',
              '--out', str(tmp_path / 'two.pkl'), '--work-dir', str(tmp_path / 'two'))
    metric_lines = [re.findall(r'^bbox_mAP\w*: [\d.]+$', out, re.M) for out in (one, two)]
    assert metric_lines[0] and metric_lines[0] == metric_lines[1]
    results = [pickle.loads((tmp_path / f'{n}.pkl').read_bytes()) for n in ('one', 'two')]
    assert len(results[0]) == len(results[1]) == 40
    for image_one, image_two in zip(*results):
        for boxes_one, boxes_two in zip(image_one, image_two):
            np.testing.assert_allclose(boxes_one, boxes_two, atol=1e-4)
