"""The runtime: 2.x config vocabulary -> mmengine Runner, project hooks, safe checkpoints."""
from .checkpoint import install_safe_local_loader
from .config_translation import ConfigError, translate_test_config, translate_train_config
from .hooks import CheckpointHook, EvalProgressBarHook, SafeCheckpointHook

install_safe_local_loader()

__all__ = ['CheckpointHook', 'ConfigError', 'EvalProgressBarHook', 'SafeCheckpointHook',
           'translate_test_config', 'translate_train_config']
