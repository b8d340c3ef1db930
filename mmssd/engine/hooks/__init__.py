from .check_invalid_loss_hook import CheckInvalidLossHook
from .checkpoint_hook import CheckpointHook
from .epoch_seed_hook import EpochSeedHook
from .eval_progress_bar_hook import EvalProgressBarHook
from .num_class_check_hook import NumClassCheckHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .show_results_hook import ShowResultsHook

__all__ = ['CheckInvalidLossHook', 'CheckpointHook', 'EpochSeedHook', 'EvalProgressBarHook',
           'NumClassCheckHook', 'SafeCheckpointHook', 'ShowResultsHook']
