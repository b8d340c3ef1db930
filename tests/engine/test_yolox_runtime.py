"""YOLOX's runtime: the mode switch reaches persistent loader workers, the YOLOX lr policy
matches mmdetection's formula, and the 2.x keys of its config translate."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmssd.datasets import build_dataset
from mmssd.engine.config_translation import ConfigError, translate_train_config
from mmssd.engine.config_translation.evaluation import evaluator_config
from mmssd.engine.config_translation.schedule import translate_loops, translate_lr_config
from mmssd.engine.hooks import YOLOXModeSwitchHook
from tests.helpers.tiny_coco import write_tiny_coco

EPOCHS, ITERS_PER_EPOCH, BASE_LR = 4, 5, 0.1


class Head(torch.nn.Module):
    use_l1 = False


class RecordingModel(BaseModel):
    """Records the image size of every batch and whether the L1 loss is on."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
        self.bbox_head = Head()
        self.seen: list[tuple] = []

    def forward(self, img=None, img_metas=None, gt_bboxes=None, gt_labels=None,
                mode='loss', **kwargs):
        self.seen.append((tuple(img.shape[-2:]), self.bbox_head.use_l1))
        return {'loss': (self.w * 0).sum()}


class RecordLR(Hook):
    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])


def _runner(tmp_path, model, loader, epochs: int, hooks: list, param_scheduler=None):
    return Runner(model=model, work_dir=str(tmp_path), train_dataloader=loader,
                  train_cfg=dict(by_epoch=True, max_epochs=epochs),
                  optim_wrapper=dict(optimizer=dict(type='SGD', lr=BASE_LR)),
                  param_scheduler=param_scheduler, custom_hooks=hooks,
                  default_hooks=dict(checkpoint=None, logger=None), default_scope='mmssd',
                  log_level='ERROR')


def test_mode_switch_reaches_persistent_workers(tmp_path):
    root = write_tiny_coco(tmp_path / 'coco', [(48, 40), (40, 48), (44, 44)])
    inner = dict(type='CocoDataset', ann_file=str(root / 'ann.json'),
                 img_prefix=str(root / 'imgs'), classes=('box',),
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])
    dataset = build_dataset(dict(type='MultiImageMixDataset', dataset=inner, pipeline=[
        dict(type='Mosaic', img_scale=(32, 32)), dict(type='DefaultFormatBundle'),
        dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'], meta_keys=['img_shape'])]))
    loader = dict(dataset=dataset, batch_size=1, num_workers=1, persistent_workers=True,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='mmssd.detection_collate'))
    model = RecordingModel()
    runner = _runner(tmp_path / 'work', model, loader, 3,
                     [dict(type='YOLOXModeSwitchHook', num_last_epochs=1)])
    runner.train()
    runner.train_dataloader._iterator._shutdown_workers()  # now, not in the next test
    plain = [((40, 48), True), ((48, 40), True), ((44, 44), True)]  # (h, w) of the files
    assert model.seen[:3] == [((64, 64), False)] * 3  # epoch 1: 2x2 mosaics
    assert model.seen[3:] == plain * 2  # switched at epoch 2 of 3 (2.x's point)


def test_mode_switch_without_a_mix_dataset_names_the_key(tmp_path):
    root = write_tiny_coco(tmp_path / 'coco', [(48, 40)])
    plain = build_dataset(dict(type='CocoDataset', ann_file=str(root / 'ann.json'),
                               img_prefix=str(root / 'imgs'), classes=('box',), pipeline=[]))
    runner = SimpleNamespace(train_dataloader=SimpleNamespace(dataset=plain),
                             model=RecordingModel())
    with pytest.raises(ConfigError, match=r'`data.train` is a CocoDataset.*MultiImageMixDataset'):
        YOLOXModeSwitchHook().before_train(runner)


def mmdet_yolox_lr(it: int, warmup: int, last: int, total: int, ratio: float = 0.05) -> float:
    """mmdetection 2.x ``YOLOXLrUpdaterHook`` (by_epoch=False) with its quadratic warm-up."""
    target = BASE_LR * ratio
    progress = it + 1
    if progress >= total - last:
        lr = target
    else:
        factor = (progress - warmup) / (total - warmup - last)
        lr = target + 0.5 * (BASE_LR - target) * (math.cos(math.pi * factor) + 1)
    return lr * ((it + 1) / warmup) ** 2 if it < warmup else lr


def test_yolox_policy_matches_mmdetection(tmp_path):
    cfg = Config(dict(runner=dict(type='EpochBasedRunner', max_epochs=EPOCHS), lr_config=dict(
        policy='YOLOX', warmup='exp', by_epoch=False, warmup_by_epoch=True, warmup_ratio=1,
        warmup_iters=1, num_last_epochs=1, min_lr_ratio=0.05)))
    recorder = RecordLR()
    loader = torch.utils.data.DataLoader(
        [{'inputs': i} for i in range(ITERS_PER_EPOCH)], batch_size=1,
        collate_fn=lambda batch: {'img': torch.zeros(1, 1, 2, 2)})
    _runner(tmp_path, RecordingModel(), loader, EPOCHS, [recorder],
            translate_lr_config(cfg)).train()
    total = EPOCHS * ITERS_PER_EPOCH
    expected = [mmdet_yolox_lr(i, ITERS_PER_EPOCH, ITERS_PER_EPOCH, total) for i in range(total)]
    assert recorder.lrs == pytest.approx(expected, rel=1e-9)
    bad = Config(dict(runner=dict(max_epochs=2), lr_config=dict(policy='YOLOX', by_epoch=False,
                                                                warmup='linear',
                                                                num_last_epochs=1)))
    with pytest.raises(ConfigError, match='lr_config.warmup'):
        translate_lr_config(bad)


def test_dynamic_intervals_drive_the_loop_not_the_metric():
    cfg = Config(dict(runner=dict(max_epochs=300), evaluation=dict(
        interval=10, dynamic_intervals=[(285, 1)], metric='bbox', save_best='auto')))
    assert translate_loops(cfg, True)['train_cfg']['dynamic_intervals'] == [(285, 1)]
    assert evaluator_config(cfg, dict(type='CocoDataset')) == dict(type='CocoMetric',
                                                                  metric='bbox')


def test_yolox_s_config_translates_every_runtime_key(tmp_path):
    cfg = Config.fromfile('configs/yolox/yolox_s_8x8_300e_coco.py')
    cfg.work_dir = str(tmp_path)
    args = translate_train_config(cfg).runner_args
    assert args['train_cfg']['dynamic_intervals'] == [(285, 1)]
    assert args['optim_wrapper']['optimizer']['nesterov'] is True
    assert args['optim_wrapper']['paramwise_cfg'] == dict(norm_decay_mult=0., bias_decay_mult=0.)
    assert [s['type'] for s in args['param_scheduler']] == ['mmssd.YOLOXLR']
    hooks = [h['type'] for h in args['custom_hooks']]
    assert {'YOLOXModeSwitchHook', 'SyncNormHook', 'EMAHook'} <= set(hooks)
    assert args['train_dataloader']['persistent_workers'] is True
