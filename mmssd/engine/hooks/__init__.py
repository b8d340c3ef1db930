from .checkpoint_hook import CheckpointHook
from .eval_progress_bar_hook import EvalProgressBarHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = ['CheckpointHook', 'EvalProgressBarHook', 'SafeCheckpointHook']
