"""Runtime options train the demo model on CPU: mixed precision, gradient accumulation, EMA."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mmssd.apis import build_train_runner, load_config
from mmssd.datasets import make_demo_dataset

REPO = Path(__file__).resolve().parents[2]
NUM_IMAGES = 16
EPOCHS = 10

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('demo_options')
    make_demo_dataset(root, num_train=NUM_IMAGES, num_val=2, seed=3)
    return root


def short_run(demo_root: Path, work_dir: Path, **overrides):
    cfg = load_config(str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'),
                      work_dir=str(work_dir))
    cfg.data.train.update(ann_file=str(demo_root / 'annotations/instances_train.json'),
                          img_prefix=str(demo_root / 'train'))
    cfg.data.samples_per_gpu = 4  # 40 optimizer steps in all
    cfg.data.workers_per_gpu = 0
    cfg.runner = dict(type='EpochBasedRunner', max_epochs=EPOCHS)
    cfg.lr_config = dict(policy='fixed', warmup='linear', warmup_iters=4, warmup_ratio=0.1)
    cfg.log_config = dict(interval=1)
    cfg.checkpoint_config = dict(interval=EPOCHS)
    cfg.seed = 0
    cfg.merge_from_dict(overrides)
    torch.manual_seed(0)
    runner = build_train_runner(cfg, validate=False)
    runner.train()
    return runner


def assert_loss_falls(runner, batch: int = 4) -> None:
    """Every iteration logged, all finite, and the last tenth's mean loss at most 0.85
    of the first tenth's."""
    losses = torch.tensor(list(runner.message_hub.get_scalar('train/loss').data[0]))
    # GroupSampler's full batches: at least NUM_IMAGES // batch per epoch (groups filled)
    assert len(runner.train_dataloader) >= NUM_IMAGES // batch
    assert len(losses) == EPOCHS * len(runner.train_dataloader) and torch.isfinite(losses).all()
    tenth = len(losses) // 10
    assert losses[-tenth:].mean() < 0.85 * losses[:tenth].mean(), losses


def test_fp16_config_trains_with_autocast(demo_root, tmp_path):
    runner = short_run(demo_root, tmp_path, fp16=dict(loss_scale='dynamic'))
    wrapper = runner.optim_wrapper
    if torch.cuda.is_available():
        assert type(wrapper).__name__ == 'AmpOptimWrapper'
    else:
        assert type(wrapper).__name__ == 'AutocastOptimWrapper'
        assert wrapper.cast_dtype == torch.bfloat16
    assert_loss_falls(runner)


def test_gradient_accumulation_trains(demo_root, tmp_path):
    # batches of 2, two per optimizer step: the same 40 steps of 4 images as the others
    runner = short_run(demo_root, tmp_path, optimizer_config=dict(cumulative_iters=2),
                       data=dict(samples_per_gpu=2))
    assert runner.optim_wrapper._accumulative_counts == 2
    assert_loss_falls(runner, batch=2)


def test_ema_hook_keeps_an_averaged_model(demo_root, tmp_path):
    runner = short_run(demo_root, tmp_path, custom_hooks=[
        dict(type='EMAHook', momentum=0.01, priority='ABOVE_NORMAL')])
    ckpt = torch.load(tmp_path / f'epoch_{EPOCHS}.pth', weights_only=True)
    ema_keys = [k for k in ckpt['ema_state_dict'] if k.startswith('module.')]
    assert len(ema_keys) == len(ckpt['state_dict'])
    assert_loss_falls(runner)
