"""The runtime: 2.x config vocabulary -> mmengine Runner, project hooks, safe checkpoints."""
from .all_reduce_sync_bn import AllReduceSyncBatchNorm, convert_to_all_reduce_sync_bn
from .autocast_optim_wrapper import AutocastOptimWrapper
from .checkpoint import (
    CheckpointMatchHook,
    CheckpointMismatchError,
    DiskFullError,
    LatestCheckpointHook,
    SafeCheckpointHook,
    install_checkpointing,
)
from .config_translation import (
    ConfigError,
    RunnerSetup,
    translate_test_config,
    translate_train_config,
)
from .distributed import (
    DeviceAwareDistributedDataParallel,
    close_distributed,
    init_distributed,
)
from .hooks import (
    CheckInvalidLossHook,
    EvalProgressBarHook,
    NumClassCheckHook,
)
from .iter_loop import IterBasedTrainLoop
from .mmcv_lr_schedulers import ExpWarmupLR, MMCVCosineAnnealingLR, MMCVPolyLR

__all__ = ['AllReduceSyncBatchNorm', 'AutocastOptimWrapper', 'CheckInvalidLossHook',
           'CheckpointMatchHook', 'CheckpointMismatchError', 'ConfigError',
           'DeviceAwareDistributedDataParallel', 'DiskFullError', 'EvalProgressBarHook',
           'ExpWarmupLR', 'IterBasedTrainLoop', 'LatestCheckpointHook',
           'MMCVCosineAnnealingLR', 'MMCVPolyLR', 'NumClassCheckHook', 'RunnerSetup',
           'SafeCheckpointHook', 'close_distributed',
           'convert_to_all_reduce_sync_bn', 'init_distributed', 'install_checkpointing',
           'translate_test_config', 'translate_train_config']
