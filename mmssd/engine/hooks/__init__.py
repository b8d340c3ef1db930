from .check_invalid_loss_hook import CheckInvalidLossHook
from .epoch_seed_hook import EpochSeedHook
from .eval_progress_bar_hook import EvalProgressBarHook
from .mlflow_model_hook import MlflowModelHook
from .num_class_check_hook import NumClassCheckHook
from .show_results_hook import ShowResultsHook
from .sync_norm_hook import SyncNormHook
from .wandb_detection_hook import WandbDetectionHook
from .yolox_mode_switch_hook import YOLOXModeSwitchHook

__all__ = ['CheckInvalidLossHook', 'EpochSeedHook', 'EvalProgressBarHook', 'NumClassCheckHook',
           'ShowResultsHook', 'MlflowModelHook', 'WandbDetectionHook', 'SyncNormHook',
           'YOLOXModeSwitchHook']
