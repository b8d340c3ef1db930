"""Stop training as soon as the loss turns NaN or infinite."""
from __future__ import annotations

import math

from mmengine.hooks import Hook

from mmssd.registry import HOOKS


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Every ``interval`` iterations, raise if the total loss is not finite.

    The error names the iteration and every loss term, so the term that diverged shows.
    """

    def __init__(self, interval: int = 50) -> None:
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval) or not outputs:
            return
        values = {k: float(v) for k, v in outputs.items() if hasattr(v, 'item') or
                  isinstance(v, float)}
        if 'loss' in values and not math.isfinite(values['loss']):
            terms = ', '.join(f'{k}={v}' for k, v in values.items())
            raise FloatingPointError(f'loss became infinite or NaN at iteration '
                                     f'{runner.iter + 1}: {terms}')
