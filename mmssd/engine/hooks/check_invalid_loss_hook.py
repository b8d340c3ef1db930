"""Stop training as soon as the loss turns NaN or infinite, before diverged weights are saved.

Every mmssd training run has this hook (``MMSSD_HOOKS``, checking every iteration):

- ``after_train_iter`` (priority ``VERY_HIGH``, before the logger and the checkpoint
  hook): a non-finite ``loss`` raises ``FloatingPointError`` naming the iteration, every
  loss term and what to change (a lower ``optimizer.lr``, ``grad_clip``);
- ``before_save_checkpoint``: a checkpoint (``epoch_N.pth``, ``iter_N.pth``,
  ``best_*.pth``) whose weights hold NaN or inf is refused with the same hint. This
  catches weights that diverged in a step whose loss was still finite (the loss shows
  it one iteration later).
"""
from __future__ import annotations

import math

import torch
from mmengine.hooks import Hook

from mmssd.registry import HOOKS

HINT = ('lower the learning rate (`optimizer.lr`{lr}) or clip the gradients '
        '(`optimizer_config = dict(grad_clip=dict(max_norm=35, norm_type=2))`); '
        'no checkpoint was written from these weights')


def _lr_note(runner) -> str:
    """``', now 0.1'`` from the runner's optimizer, or ``''`` when it cannot be read."""
    try:
        lrs = runner.optim_wrapper.get_lr()['lr']
    except (AttributeError, KeyError, TypeError):
        return ''
    return f', now {max(lrs):g}' if lrs else ''


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Every ``interval`` iterations, raise if the total loss is not finite; refuse to save
    non-finite weights.

    Args:
        interval: check the loss every this many iterations (mmssd's own instance: 1).
    """

    priority = 'VERY_HIGH'

    def __init__(self, interval: int = 50) -> None:
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval) or not outputs:
            return
        values = {k: float(v.detach() if isinstance(v, torch.Tensor) else v)
                  for k, v in outputs.items() if hasattr(v, 'item') or isinstance(v, float)}
        if 'loss' in values and not math.isfinite(values['loss']):
            terms = ', '.join(f'{k}={v}' for k, v in values.items())
            raise FloatingPointError(f'loss became infinite or NaN at iteration '
                                     f'{runner.iter + 1}: {terms}; training stopped: '
                                     + HINT.format(lr=_lr_note(runner)))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Raise ``FloatingPointError`` if a weight of ``checkpoint['state_dict']`` is NaN/inf."""
        for name, value in (checkpoint.get('state_dict') or {}).items():
            if (isinstance(value, torch.Tensor) and value.is_floating_point()
                    and not bool(torch.isfinite(value).all())):
                raise FloatingPointError(
                    f'the weights diverged: {name} holds NaN or inf at iteration '
                    f'{runner.iter}; training stopped: ' + HINT.format(lr=_lr_note(runner)))
