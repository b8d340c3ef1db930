"""The runtime: 2.x config vocabulary -> mmengine Runner, project hooks, safe checkpoints."""
from .all_reduce_sync_bn import AllReduceSyncBatchNorm, convert_to_all_reduce_sync_bn
from .atomic_local_backend import install_atomic_local_backend
from .autocast_optim_wrapper import AutocastOptimWrapper
from .config_translation import ConfigError, translate_test_config, translate_train_config
from .distributed import (
    DeviceAwareDistributedDataParallel,
    close_distributed,
    init_distributed,
)
from .hooks import (
    CheckInvalidLossHook,
    CheckpointHook,
    EvalProgressBarHook,
    NumClassCheckHook,
    SafeCheckpointHook,
)
from .mmcv_lr_schedulers import ExpWarmupLR, MMCVCosineAnnealingLR, MMCVPolyLR
from .pretrained_weights import install_checkpoint_loaders

install_checkpoint_loaders()
install_atomic_local_backend()

__all__ = ['AllReduceSyncBatchNorm', 'AutocastOptimWrapper', 'CheckInvalidLossHook',
           'CheckpointHook', 'ConfigError', 'DeviceAwareDistributedDataParallel',
           'EvalProgressBarHook', 'ExpWarmupLR', 'MMCVCosineAnnealingLR', 'MMCVPolyLR',
           'NumClassCheckHook', 'SafeCheckpointHook', 'close_distributed',
           'convert_to_all_reduce_sync_bn', 'init_distributed', 'translate_test_config',
           'translate_train_config']
