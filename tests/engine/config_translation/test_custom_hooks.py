"""2.x EMA hooks and ``EarlyStoppingHook`` in ``custom_hooks``: the translation, the real
mmengine hooks it builds, and a training run whose best checkpoint holds the average."""
from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook

from mmssd.apis import build_train_runner, load_config
from mmssd.datasets import make_demo_dataset
from mmssd.engine.config_translation.custom_hooks import translate_custom_hooks
from mmssd.registry import HOOKS
from mmssd.utils.config_error import ConfigError

REPO = Path(__file__).resolve().parents[3]


def test_2x_ema_hooks_translate():
    assert translate_custom_hooks([
        dict(type='ExpMomentumEMAHook', resume_from=None, momentum=0.0001, priority=49),
        dict(type='EMAHook', momentum=0.01, interval=2),
        dict(type='LinearMomentumEMAHook', momentum=0.002, warm_up=50, skip_buffers=True),
        dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001, update_buffers=True),
        dict(type='NumClassCheckHook'),
    ]) == [
        dict(type='EMAHook', ema_type='ExpMomentumEMA', interval=1, update_buffers=True,
             momentum=0.0001, gamma=2000, priority=49),
        dict(type='EMAHook', ema_type='LinearMomentumEMA', interval=2, update_buffers=False,
             momentum=0.01 ** 2, warm_up=100),
        dict(type='EMAHook', ema_type='LinearMomentumEMA', interval=1, update_buffers=False,
             momentum=0.002, warm_up=50),
        dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001, update_buffers=True),
        dict(type='NumClassCheckHook'),
    ]


def test_bad_hook_configs_are_named():
    with pytest.raises(ConfigError, match=r"hooks\[0\]` \(ExpMomentumEMAHook\) has unknown "
                                          r"keys \['total_iters'\]; did you mean 'total_iter'"):
        translate_custom_hooks([dict(type='ExpMomentumEMAHook', total_iters=10)])
    with pytest.raises(ConfigError, match='resume_from=.a.pth. is not used'):
        translate_custom_hooks([dict(type='EMAHook', resume_from='a.pth')])
    with pytest.raises(ConfigError, match=r'momentum must be in \(0, 1\); got 1.5'):
        translate_custom_hooks([dict(type='EMAHook', momentum=1.5)])
    with pytest.raises(ConfigError, match="needs `monitor`.*'bbox_mAP'"):
        translate_custom_hooks([dict(type='EarlyStoppingHook', patience=2)])


def early_stopping(**kwargs) -> tuple[Hook, SimpleNamespace]:
    """mmengine's hook built from the translated config, and a runner stand-in."""
    (cfg,) = translate_custom_hooks([dict(type='EarlyStoppingHook', **kwargs)])
    hook = HOOKS.build(cfg)
    runner = SimpleNamespace(train_loop=SimpleNamespace(stop_training=False),
                             logger=SimpleNamespace(info=lambda msg: None))
    return hook, runner


def test_early_stopping_counts_a_plateau_of_rounded_metrics():
    hook, runner = early_stopping(monitor='bbox_mAP', patience=2)
    assert type(hook).__module__.startswith('mmengine') and hook.rule == 'greater'
    for value, stopped in ((0.300, False), (0.305, False), (0.305, False), (0.3055, True)):
        hook.after_val_epoch(runner, {'bbox_mAP': value, 'bbox_mAP_50': 0.5})
        assert runner.train_loop.stop_training is stopped, value
    # mmengine's own default (min_delta 0.1: ten mAP points) would stop a learning run
    hook, runner = early_stopping(monitor='bbox_mAP', patience=2, min_delta=0.1)
    for value in (0.30, 0.35, 0.39):
        hook.after_val_epoch(runner, {'bbox_mAP': value})
    assert runner.train_loop.stop_training


def test_early_stopping_on_a_metric_never_reported_stops_the_run():
    hook, runner = early_stopping(monitor='bbox_map', patience=2)
    with pytest.raises(RuntimeError, match='bbox_map.*bbox_mAP'):
        hook.after_val_epoch(runner, {'bbox_mAP': 0.3})


@HOOKS.register_module(force=True)
class RecordWeightsHook(Hook):
    """Keep the model's parameters after every training iteration (test helper)."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.params: list[dict[str, torch.Tensor]] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.params.append({k: p.detach().clone() for k, p in runner.model.named_parameters()})


def ema_config(root: Path, work_dir: Path, epochs: int, custom_hooks: list[dict], **extra):
    """The demo config on the small demo data under ``root``, batches of 4, a fixed lr,
    a checkpoint every epoch, and ``custom_hooks``."""
    cfg = load_config(str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'),
                      work_dir=str(work_dir))
    for split, name in (('train', 'train'), ('val', 'val')):
        cfg.data[split].update(ann_file=str(root / f'annotations/instances_{name}.json'),
                               img_prefix=str(root / name))
    cfg.merge_from_dict(dict(
        data=dict(samples_per_gpu=4, workers_per_gpu=0),
        runner=dict(type='EpochBasedRunner', max_epochs=epochs), seed=0, deterministic=True,
        lr_config=dict(_delete_=True, policy='fixed'), log_config=dict(interval=1),
        checkpoint_config=dict(interval=1), custom_hooks=custom_hooks, **extra))
    return cfg


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('ema_demo')
    make_demo_dataset(root, num_train=8, num_val=4, seed=0)
    return root


@pytest.mark.slow
def test_best_checkpoint_holds_the_ema_weights(demo_root, tmp_path):
    """Train with ``ExpMomentumEMAHook`` and ``save_best``, stopped by
    ``EarlyStoppingHook`` after the first validation: the best checkpoint's
    ``state_dict`` is the average computed here from the recorded weights."""
    momentum, total_iter = 0.05, 3
    cfg = ema_config(demo_root, tmp_path / 'work', 3, [
        dict(type='ExpMomentumEMAHook', momentum=momentum, total_iter=total_iter,
             resume_from=None, priority=49),
        dict(type='EarlyStoppingHook', monitor='bbox_mAP', stopping_threshold=-1.0)],
        evaluation=dict(interval=1, metric='bbox', save_best='auto'))
    runner = build_train_runner(cfg)
    recorder = RecordWeightsHook()
    runner.register_hook(recorder)
    runner.train()
    work = tmp_path / 'work'
    assert runner.epoch == 1 and not (work / 'epoch_2.pth').exists()  # stopped early
    best = torch.load(work / 'best_bbox_mAP_epoch_1.pth', weights_only=True)
    expected = dict(recorder.params[0])
    for step, params in enumerate(recorder.params[1:], start=1):
        m = (1 - momentum) * math.exp(-(1 + step) / total_iter) + momentum
        expected = {k: (1 - m) * expected[k] + m * v for k, v in params.items()}
    raw = recorder.params[-1]
    assert len(recorder.params) >= 2
    for name, value in expected.items():
        torch.testing.assert_close(best['state_dict'][name], value, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(best['ema_state_dict'][f'module.{name}'], raw[name])
    assert any(not torch.allclose(expected[k], raw[k]) for k in expected)  # a real average


@pytest.mark.slow
def test_resumed_run_continues_the_average(demo_root, tmp_path):
    """2 epochs in one go, and 1 epoch then ``resume_from`` for the second: the same
    averaged and raw weights at the end."""
    hooks = [dict(type='ExpMomentumEMAHook', momentum=0.05, total_iter=3, priority=49)]
    build_train_runner(ema_config(demo_root, tmp_path / 'whole', 2, hooks),
                       validate=False).train()
    build_train_runner(ema_config(demo_root, tmp_path / 'split', 1, hooks),
                       validate=False).train()
    build_train_runner(ema_config(demo_root, tmp_path / 'split', 2, hooks,
                                  resume_from=str(tmp_path / 'split/epoch_1.pth')),
                       validate=False).train()
    whole = torch.load(tmp_path / 'whole/epoch_2.pth', weights_only=True)
    split = torch.load(tmp_path / 'split/epoch_2.pth', weights_only=True)
    for key in ('state_dict', 'ema_state_dict'):
        assert whole[key].keys() == split[key].keys()
        for name, value in whole[key].items():
            torch.testing.assert_close(split[key][name], value, rtol=1e-5, atol=1e-6,
                                       msg=f'{key}[{name}]')
