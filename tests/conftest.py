"""Session-wide fixture: a demo detector trained briefly on the shipped demo image.

``demo_run`` trains the demo SSDLite (``configs/demo/ssdlite_mobilenetv2_demo.py``) on
``demo/demo.jpg`` alone, without augmentation, for 80 iterations (~20 s on 2 cores, one
OpenMP thread), so that it finds the image's three objects with high scores. Its
batch-norm layers use a faster running-average momentum (0.5 instead of 0.03): with so
few iterations the slow default would leave the running statistics far from the batch
statistics and spoil eval-mode predictions. The run validates twice (half-way and at the
end), so its logs hold ``loss`` and ``bbox_mAP`` records. Tests that use it are ``slow``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

if os.environ.get('PYTEST_XDIST_WORKER'):
    # `pytest -n auto` (the README's command): the workers share the machine's cores, so
    # one OpenMP thread each, also for the tools the tests start as subprocesses
    os.environ['OMP_NUM_THREADS'] = '1'
    torch.set_num_threads(1)
DEMO_CONFIG = REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'
DEMO_IMAGE = REPO / 'demo/demo.jpg'
DEMO_ANN = REPO / 'demo/demo.json'
DEMO_EPOCHS = 80


@dataclass(frozen=True)
class DemoRun:
    """Paths of the fixture's training run."""

    config: Path  # the training config (inherits the demo config)
    checkpoint: Path  # weights after the last epoch
    work_dir: Path
    scalars_log: Path  # work_dir/<timestamp>/vis_data/scalars.json (JSON lines)
    image: Path  # the image it was trained on (demo/demo.jpg)
    ann_file: Path  # its COCO ground truth (demo/demo.json)
    epochs: int  # epochs trained (one iteration each)


OVERFIT_CONFIG = """\
_base_ = {base!r}
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', img_scale=(192, 192), keep_ratio=False),
    dict(type='RandomFlip', flip_ratio=0.0),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
demo_set = dict(type='CocoDataset', classes=('circle', 'square', 'triangle', 'star', 'cross'),
                ann_file={ann!r}, img_prefix={prefix!r})
data = dict(samples_per_gpu=2, workers_per_gpu=0,
            train=dict(_delete_=True, type='RepeatDataset', times=2,
                       dataset=dict(demo_set, pipeline=train_pipeline)),
            val=dict(ann_file={ann!r}, img_prefix={prefix!r}),
            test=dict(ann_file={ann!r}, img_prefix={prefix!r}),
            val_dataloader=dict(samples_per_gpu=1), test_dataloader=dict(samples_per_gpu=1))
optimizer = dict(lr=0.01)
lr_config = dict(warmup_iters=5)
runner = dict(max_epochs={epochs})
evaluation = dict(interval={epochs} // 2, save_best=None)
checkpoint_config = dict(interval={epochs})
log_config = dict(interval=1)
fast_bn = dict(type='BN', eps=0.001, momentum=0.5)
model = dict(backbone=dict(norm_cfg=fast_bn), neck=dict(norm_cfg=fast_bn),
             bbox_head=dict(norm_cfg=fast_bn))
"""


def single_thread_env() -> dict[str, str]:
    """The environment with one OpenMP thread per process.

    On a small machine shared with other processes, torch's default of one thread per
    core makes its threads wait on each other: an iteration of the demo model took
    0.5-4 s with two threads and 0.09 s with one.
    """
    return dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')


@pytest.fixture
def torch_single_thread():
    """Run the test with one torch thread (see :func:`single_thread_env`)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope='session')
def demo_run(tmp_path_factory) -> DemoRun:
    """Train the demo model on the shipped image once per session (see module docstring)."""
    root = tmp_path_factory.mktemp('demo_run')
    config = root / 'demo_overfit.py'
    config.write_text(OVERFIT_CONFIG.format(base=str(DEMO_CONFIG), ann=str(DEMO_ANN),
                                            prefix=str(DEMO_IMAGE.parent) + '/',
                                            epochs=DEMO_EPOCHS))
    work_dir = root / 'work'
    result = subprocess.run([sys.executable, 'tools/train.py', str(config), '--work-dir',
                             str(work_dir), '--seed', '0'],
                            cwd=REPO, capture_output=True, text=True, env=single_thread_env())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    logs = sorted(work_dir.glob('*/vis_data/scalars.json'))
    assert logs, f'no scalars log under {work_dir}'
    records = [json.loads(line) for line in logs[-1].read_text().splitlines()]
    assert any('bbox_mAP' in r for r in records), 'the run logged no validation'
    return DemoRun(config=config, checkpoint=work_dir / f'epoch_{DEMO_EPOCHS}.pth',
                   work_dir=work_dir, scalars_log=logs[-1], image=DEMO_IMAGE,
                   ann_file=DEMO_ANN, epochs=DEMO_EPOCHS)
