"""``checkpoint_config.max_keep_ckpts`` never removes the best or the newest checkpoint,
and ``latest.pth`` follows the newest complete one."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from mmssd.apis import build_train_runner, load_config
from mmssd.datasets import make_demo_dataset

REPO = Path(__file__).resolve().parents[3]
EPOCHS = 4

pytestmark = pytest.mark.slow


def test_old_checkpoints_go_best_and_latest_stay(tmp_path: Path):
    root = tmp_path / 'demo'
    make_demo_dataset(root, num_train=8, num_val=4, seed=5)
    cfg = load_config(str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'),
                      work_dir=str(tmp_path / 'work'))
    for split, folder in (('train', 'train'), ('val', 'val')):
        cfg.data[split].update(ann_file=str(root / f'annotations/instances_{folder}.json'),
                               img_prefix=str(root / folder))
    cfg.data.update(samples_per_gpu=4, workers_per_gpu=0)
    cfg.runner.max_epochs = EPOCHS
    cfg.evaluation = dict(interval=1, metric='bbox', save_best='auto')
    cfg.checkpoint_config = dict(interval=1, max_keep_ckpts=1)
    cfg.lr_config.warmup_iters = 2
    runner = build_train_runner(cfg)
    runner.train()

    work = Path(cfg.work_dir)
    regular = sorted(p.name for p in work.glob('epoch_*.pth'))
    best = sorted(p.name for p in work.glob('best_bbox_mAP_epoch_*.pth'))
    assert regular == [f'epoch_{EPOCHS}.pth']
    assert len(best) == 1, sorted(p.name for p in work.iterdir())
    assert os.readlink(work / 'latest.pth') == f'epoch_{EPOCHS}.pth'
    best_epoch = int(best[0].rsplit('_', 1)[1].split('.')[0])
    checkpoint = torch.load(work / best[0], weights_only=True)
    assert checkpoint['meta']['epoch'] == best_epoch
    assert checkpoint['state_dict'].keys() == runner.model.state_dict().keys()
