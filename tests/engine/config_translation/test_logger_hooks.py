"""``log_config.hooks`` -> visualizer backends and hooks: the mapping, and its errors."""
from __future__ import annotations

import sys

import pytest
from mmengine.config import Config

from mmssd.engine.config_translation.logger_hooks import logger_extra_hooks, logger_vis_backends
from mmssd.utils.config_error import ConfigError


def log_config(*hooks: dict, interval: int = 10) -> Config:
    return Config(dict(log_config=dict(interval=interval, hooks=list(hooks))))


def test_each_2x_hook_maps_to_its_backend(monkeypatch, tmp_path):
    monkeypatch.delenv('MLFLOW_TRACKING_URI', raising=False)
    monkeypatch.chdir(tmp_path)  # mlflow's default store is in the working directory
    cfg = log_config(
        dict(type='TextLoggerHook'),
        dict(type='TensorboardLoggerHook', log_dir='tb'),
        dict(type='MMDetWandbHook', init_kwargs=dict(project='p'), interval=10,
             log_checkpoint=True, log_checkpoint_metadata=True, num_eval_images=5),
        dict(type='MlflowLoggerHook', exp_name='e', tags=dict(team='a'), log_model=True))
    assert logger_vis_backends(cfg) == [
        dict(type='TensorboardVisBackend', save_dir='tb'),
        dict(type='mmssd.WandbVisBackend', init_kwargs=dict(project='p')),
        dict(type='MLflowVisBackend', exp_name='e', tags=dict(team='a'),
             tracking_uri=f'sqlite:///{tmp_path}/mlflow.db')]
    assert logger_extra_hooks(cfg) == [
        dict(type='WandbDetectionHook', num_eval_images=5, bbox_score_thr=0.3,
             log_checkpoint=True, log_checkpoint_metadata=True),
        dict(type='MlflowModelHook')]


def test_plain_wandb_and_mlflow_without_model(monkeypatch):
    monkeypatch.setenv('MLFLOW_TRACKING_URI', 'file:///tmp/somewhere')
    monkeypatch.setenv('MLFLOW_ALLOW_FILE_STORE', 'true')  # else refused (test_mlflow_store.py)
    cfg = log_config(dict(type='WandbLoggerHook', init_kwargs=dict(project='p'), commit=False),
                     dict(type='MlflowLoggerHook', log_model=False))
    assert logger_vis_backends(cfg) == [
        dict(type='mmssd.WandbVisBackend', init_kwargs=dict(project='p'), commit=False),
        dict(type='MLflowVisBackend', tracking_uri='file:///tmp/somewhere')]
    assert logger_extra_hooks(cfg) == []


def test_unknown_type_and_key_are_named():
    with pytest.raises(ConfigError, match=r"hooks\[0\]` has type 'WandBLoggerHook'; did you "
                                          r"mean 'WandbLoggerHook'\?"):
        logger_vis_backends(log_config(dict(type='WandBLoggerHook')))
    with pytest.raises(ConfigError, match=r"hooks\[1\]` \(MMDetWandbHook\) has unknown keys "
                                          r"\['num_eval_imgs'\]; did you mean "
                                          r"'num_eval_images'\?"):
        logger_vis_backends(log_config(dict(type='TextLoggerHook'),
                                       dict(type='MMDetWandbHook', num_eval_imgs=3)))


def test_two_wandb_loggers_are_refused():
    with pytest.raises(ConfigError, match='same logger twice'):
        logger_vis_backends(log_config(dict(type='WandbLoggerHook'),
                                       dict(type='MMDetWandbHook')))


def test_other_interval_and_ignored_keys_warn():
    with pytest.warns(UserWarning, match='interval=50, but every logger writes every '
                                         '`log_config.interval` = 10'):
        logger_vis_backends(log_config(dict(type='TensorboardLoggerHook', interval=50)))
    with pytest.warns(UserWarning, match='`log_artifact` has no effect'):
        logger_vis_backends(log_config(dict(type='WandbLoggerHook', log_artifact=True)))


@pytest.mark.parametrize('kind, package', [('WandbLoggerHook', 'wandb'),
                                           ('MMDetWandbHook', 'wandb'),
                                           ('MlflowLoggerHook', 'mlflow'),
                                           ('TensorboardLoggerHook', 'tensorboard')])
def test_missing_package_stops_with_the_pip_command(monkeypatch, kind, package):
    monkeypatch.setitem(sys.modules, package, None)  # as if not installed
    with pytest.raises(ConfigError, match=rf'hooks\[0\]` is {kind}, which needs the {package} '
                                          rf'package: pip install {package}'):
        logger_vis_backends(log_config(dict(type=kind)))
