"""The rename table: 2.x keys copied to Runner arguments, defaults, nested targets."""
from __future__ import annotations

from mmengine.config import Config

from mmssd.engine.config_translation import (
    runner_args,
    translate_test_config,
    translate_train_config,
)
from mmssd.engine.config_translation.common import (
    RUNTIME_RENAMES,
    TRAIN_RENAMES,
    Rename,
    apply_renames,
)


def base_cfg(**overrides) -> Config:
    """A complete 2.x training config (no file is read: the datasets are not built)."""
    cfg = dict(
        work_dir='/tmp/w', model=dict(type='SingleStageDetector', backbone=dict(type='X')),
        data=dict(samples_per_gpu=2, workers_per_gpu=0,
                  train=dict(type='CocoDataset', ann_file='a.json', pipeline=[]),
                  test=dict(type='CocoDataset', ann_file='t.json', pipeline=[])),
        optimizer=dict(type='SGD', lr=0.02),
        lr_config=dict(policy='step', warmup='linear', warmup_iters=5, step=[8, 11]),
        runner=dict(type='EpochBasedRunner', max_epochs=12))
    cfg.update(overrides)
    return Config(cfg)


def test_renames_copy_values_and_fill_defaults_into_nested_targets():
    renames = (Rename('seed', 'randomness.seed', None),
               Rename('log_config.interval', 'default_hooks.logger.interval', 50),
               Rename('cudnn_benchmark', 'env_cfg.cudnn_benchmark', False))
    out = {'default_hooks': {'logger': {'type': 'LoggerHook'}}}
    apply_renames(Config(dict(seed=7, log_config=None)), renames, out)
    assert out == {'default_hooks': {'logger': {'type': 'LoggerHook', 'interval': 50}},
                   'randomness': {'seed': 7}, 'env_cfg': {'cudnn_benchmark': False}}
    # a value present as None is copied (as cfg.get(key, default) did), not defaulted
    assert apply_renames(Config(dict(launcher=None)), (Rename('launcher', 'launcher', 'none'),),
                         {}) == {'launcher': None}


def test_every_rename_reaches_the_runner_arguments():
    cfg = base_cfg(seed=3, deterministic=True, cudnn_benchmark=True, mp_start_method='spawn',
                   opencv_num_threads=2, launcher='pytorch', log_level='DEBUG',
                   auto_scale_lr=dict(base_batch_size=16), log_config=dict(interval=7))
    train = translate_train_config(cfg).runner_args
    test = translate_test_config(cfg, 'w.pth').runner_args
    for rename in RUNTIME_RENAMES + TRAIN_RENAMES:
        value = cfg
        for part in rename.source.split('.'):
            value = value[part]
        for kwargs in (train, test) if rename in RUNTIME_RENAMES else (train,):
            node = kwargs
            for part in rename.target.split('.'):
                node = node[part]
            assert node == value, rename
    assert train['default_hooks']['logger'] == dict(type='LoggerHook', interval=7)
    assert test['default_hooks']['logger'] == dict(type='LoggerHook', interval=50)


def test_training_length_is_read_once_per_translation(monkeypatch):
    calls = []
    real = runner_args.training_length

    def counting(cfg):
        calls.append(1)
        return real(cfg)

    monkeypatch.setattr(runner_args, 'training_length', counting)
    cfg = base_cfg(momentum_config=dict(policy='step', step=[8, 11]))
    kwargs = translate_train_config(cfg).runner_args
    assert len(calls) == 1
    assert kwargs['train_cfg']['max_epochs'] == 12 and len(kwargs['param_scheduler']) == 3
