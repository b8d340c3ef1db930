"""A training set whose size leaves a remainder of one image trains (issue 18's case).

6 COCO images, one without objects (dropped by ``filter_empty_gt``), ``samples_per_gpu=2``,
the SSDLite demo config: with mmengine's ``DefaultSampler`` the epoch's last batch held one
image and BatchNorm on SSDLite's 1x1 feature map failed (``Expected more than 1 value per
channel when training``). The default ``GroupSampler`` only builds full batches.
"""
from __future__ import annotations

import json

import pytest
import torch

from mmssd.apis import load_config
from mmssd.engine.config_translation import translate_train_config
from tests.helpers.tiny_coco import tiny_config, write_tiny_coco
from tests.helpers.tools import run_tool

#: 3 wide and 3 tall images; image 4 (tall) has no object
SIZES = [(64, 48), (64, 48), (48, 64), (64, 48), (48, 64), (48, 64)]


@pytest.fixture
def six_images(tmp_path):
    root = write_tiny_coco(tmp_path / 'data', SIZES, empty=(4,))
    return tiny_config(tmp_path / 'cfg.py', root, batch=2)


def test_training_loader_is_grouped(six_images, tmp_path):
    cfg = load_config(str(six_images), work_dir=str(tmp_path / 'work'))
    loader = translate_train_config(cfg, validate=False).runner_args['train_dataloader']
    assert loader['sampler'] == dict(type='mmssd.GroupSampler', samples_per_gpu=2)
    assert loader['batch_size'] == 2
    # mmengine's `batch_size` in the per-split overrides reaches the sampler too
    cfg.data.train_dataloader = dict(batch_size=3)
    loader = translate_train_config(cfg, validate=False).runner_args['train_dataloader']
    assert loader['batch_size'] == 3 and loader['sampler']['samples_per_gpu'] == 3


@pytest.mark.slow
def test_five_training_images_at_two_per_batch_complete_an_epoch(six_images, tmp_path):
    work = tmp_path / 'work'
    run_tool(['tools/train.py', str(six_images), '--work-dir', str(work), '--seed', '0',
              '--no-validate'])
    records = [json.loads(line) for line in
               sorted(work.glob('*/vis_data/*.json'))[-1].read_text().splitlines()]
    # 3 wide images -> 4, 2 tall -> 2: three full batches
    assert [r['iter'] for r in records if 'loss' in r] == [1, 2, 3]
    state = torch.load(work / 'epoch_1.pth', weights_only=True)
    assert state['meta']['epoch'] == 1
