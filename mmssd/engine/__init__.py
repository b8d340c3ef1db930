"""The runtime: 2.x config vocabulary -> mmengine Runner, project hooks, safe checkpoints."""
from .atomic_local_backend import install_atomic_local_backend
from .checkpoint import install_safe_local_loader
from .config_translation import ConfigError, translate_test_config, translate_train_config
from .distributed import DeviceAwareDistributedDataParallel, init_distributed
from .hooks import (
    CheckInvalidLossHook,
    CheckpointHook,
    EvalProgressBarHook,
    NumClassCheckHook,
    SafeCheckpointHook,
)

install_safe_local_loader()
install_atomic_local_backend()

__all__ = ['CheckInvalidLossHook', 'CheckpointHook', 'ConfigError',
           'DeviceAwareDistributedDataParallel', 'EvalProgressBarHook', 'init_distributed',
           'NumClassCheckHook', 'SafeCheckpointHook', 'translate_test_config',
           'translate_train_config']
