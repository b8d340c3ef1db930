"""The runtime: 2.x config vocabulary -> mmengine Runner, project hooks, safe checkpoints."""
from .checkpoint import install_safe_local_loader
from .config_translation import ConfigError, translate_test_config, translate_train_config
from .hooks import (
    CheckInvalidLossHook,
    CheckpointHook,
    EvalProgressBarHook,
    NumClassCheckHook,
    SafeCheckpointHook,
)

install_safe_local_loader()

__all__ = ['CheckInvalidLossHook', 'CheckpointHook', 'ConfigError', 'EvalProgressBarHook',
           'NumClassCheckHook', 'SafeCheckpointHook', 'translate_test_config',
           'translate_train_config']
