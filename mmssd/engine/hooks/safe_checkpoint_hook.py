"""Keep checkpoints readable by ``torch.load(weights_only=True)``."""
from __future__ import annotations

from mmengine.hooks import Hook

from mmssd.engine.checkpoint import restore_history_buffers, to_weights_only
from mmssd.registry import HOOKS


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Convert numpy data before saving and rebuild ``HistoryBuffer`` s after loading.

    Runs first among hooks (``priority='VERY_HIGH'``) so every other hook sees the
    restored ``message_hub``.
    """

    priority = 'VERY_HIGH'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        converted = to_weights_only(checkpoint)
        checkpoint.clear()
        checkpoint.update(converted)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = restore_history_buffers(checkpoint['message_hub'])
