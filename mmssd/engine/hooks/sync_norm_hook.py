"""``SyncNormHook``: average BatchNorm statistics over the processes (YOLOX)."""
from __future__ import annotations

from mmengine.dist import all_reduce_dict, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmssd.registry import HOOKS


def norm_states(model: nn.Module) -> dict:
    """The state (weights and running statistics) of every BatchNorm of ``model``, by
    state-dict key."""
    return {f'{name}.{key}': value for name, module in model.named_modules()
            if isinstance(module, _BatchNorm) for key, value in module.state_dict().items()}


@HOOKS.register_module()
class SyncNormHook(Hook):
    """Every ``interval`` epochs, and every epoch of the last ``num_last_epochs`` (from
    mmdetection 2.x's switch point), replace each process's BatchNorm states by their mean
    over the processes, so evaluation and checkpoints see the same statistics. Does
    nothing in a single process.
    """

    def __init__(self, num_last_epochs: int = 15, interval: int = 1,
                 priority: int | str | None = None) -> None:
        self.num_last_epochs = num_last_epochs
        self.interval = interval
        if priority is not None:
            self.priority = priority

    def before_train_epoch(self, runner) -> None:
        if runner.epoch + 1 >= runner.max_epochs - self.num_last_epochs:
            self.interval = 1

    def after_train_epoch(self, runner) -> None:
        if (runner.epoch + 1) % self.interval or get_dist_info()[1] == 1:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        states = {k: v for k, v in norm_states(model).items() if v.is_floating_point()}
        if states:
            all_reduce_dict(states, op='mean')  # in place
            model.load_state_dict(states, strict=False)
