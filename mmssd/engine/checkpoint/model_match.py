"""Does a checkpoint fit the model it is loaded into? Named differences, not silent runs.

mmengine loads ``load_from`` and resumed checkpoints non-strictly: a checkpoint of another
class count or another model only logs a warning and the run goes on with some layers at
their initial weights. mmssd decides by what the load is for (:data:`MODES`):

* ``'resume'`` (``resume_from`` / ``--auto-resume``) and ``'test'`` (evaluation,
  inference): every tensor the model has must be in the checkpoint with the model's
  shape; otherwise :class:`CheckpointMismatchError` names the file, the keys and the
  shapes. Resuming also refuses keys the model lacks; a test run only warns about them.
* ``'finetune'`` (``load_from`` when training): as in mmdetection 2.x, layers of another
  shape (the class-dependent head layers when the class count changes) keep their initial
  weights, with a warning naming them; but when under :data:`MIN_FINETUNE_FRACTION` of the
  model's weights fit, the checkpoint belongs to another model and the run stops.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import find_latest_checkpoint
from torch import Tensor, nn

from mmssd.registry import HOOKS

#: What a checkpoint is loaded for.
MODES = ('resume', 'test', 'finetune')
#: Smallest fraction of the model's weight elements a ``load_from`` checkpoint must fill.
MIN_FINETUNE_FRACTION = 0.5
#: Keys listed per kind of difference in a message.
SHOWN = 8


class CheckpointMismatchError(ValueError):
    """A checkpoint that does not fit the model; the message names keys and shapes."""


@dataclass
class StateDictDifferences:
    """How a checkpoint's ``state_dict`` differs from a model's.

    Attributes:
        mismatched: ``(key, checkpoint shape, model shape)`` for keys in both.
        missing: model keys the checkpoint lacks.
        unexpected: checkpoint keys the model lacks.
        fitting_fraction: fraction of the model's tensor elements the checkpoint fills.
    """

    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    fitting_fraction: float = 1.0

    def describe(self, with_unexpected: bool = True) -> str:
        """The differences, a few keys of each kind with their shapes."""
        parts = []
        if self.mismatched:
            shown = [f'{k} (checkpoint {_shape(c)}, model {_shape(m)})'
                     for k, c, m in self.mismatched]
            parts.append(f'{len(shown)} of another shape ({_listed(shown)})')
        if self.missing:
            parts.append(f'{len(self.missing)} missing from the checkpoint '
                         f'({_listed(self.missing)})')
        if self.unexpected and with_unexpected:
            parts.append(f'{len(self.unexpected)} not in the model '
                         f'({_listed(self.unexpected)})')
        return '; '.join(parts)


def _shape(shape: tuple[int, ...]) -> str:
    """``(24, 48, 1, 1)`` -> ``'24x48x1x1'`` (``'scalar'`` for ``()``)."""
    return 'x'.join(map(str, shape)) or 'scalar'


def _listed(items: list[str]) -> str:
    more = f', ... and {len(items) - SHOWN} more' if len(items) > SHOWN else ''
    return ', '.join(items[:SHOWN]) + more


def state_dict_differences(model: nn.Module,
                           state_dict: Mapping[str, Tensor]) -> StateDictDifferences:
    """Compare ``state_dict`` (``module.`` prefixes stripped, as mmengine loads it, and
    renamed by the model's ``upgrade_state_dict`` if it has one, as its loading does) with
    ``model.state_dict()``."""
    theirs = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    upgrade = getattr(model, 'upgrade_state_dict', None)
    if upgrade is not None:
        theirs = upgrade(theirs)
    ours = model.state_dict()
    diff = StateDictDifferences()
    total = fitting = 0
    for key, value in ours.items():
        total += value.numel()
        if key not in theirs:
            diff.missing.append(key)
        elif tuple(theirs[key].shape) != tuple(value.shape):
            diff.mismatched.append((key, tuple(theirs[key].shape), tuple(value.shape)))
        else:
            fitting += value.numel()
    diff.unexpected = [k for k in theirs if k not in ours]
    diff.fitting_fraction = fitting / total if total else 1.0
    return diff


def check_checkpoint_fits(model: nn.Module, checkpoint: Mapping, filename: str,
                          mode: str) -> StateDictDifferences:
    """Raise or warn, as ``mode`` (one of :data:`MODES`) asks, when ``checkpoint`` (a
    checkpoint dict or a bare state dict) does not fit ``model``.

    Raises:
        CheckpointMismatchError: see the module docstring; the message names ``filename``
            and the differing keys with their shapes.
        ValueError: an unknown ``mode``.
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    state_dict = checkpoint.get('state_dict', checkpoint)
    diff = state_dict_differences(model, state_dict)
    if mode == 'resume' and (diff.mismatched or diff.missing or diff.unexpected):
        raise CheckpointMismatchError(
            f'cannot resume from {filename}: it is not a checkpoint of this model: '
            f'{diff.describe()}. Resuming needs the same model (num_classes, layers); to '
            'start a new training from its weights, use load_from instead of resume_from')
    if mode == 'test' and (diff.mismatched or diff.missing):
        raise CheckpointMismatchError(
            f'checkpoint {filename} does not fit the model of this config: '
            f'{diff.describe(with_unexpected=False)}. Use the config the checkpoint was '
            'trained with (num_classes, layers)')
    if mode == 'finetune' and diff.fitting_fraction < MIN_FINETUNE_FRACTION:
        raise CheckpointMismatchError(
            f'load_from={filename} fills only {diff.fitting_fraction:.0%} of the model\'s '
            f'weights; it is a checkpoint of another model: {diff.describe()}')
    if diff.mismatched or diff.missing or diff.unexpected:
        print_log(f'checkpoint {filename} does not fit the model exactly; the layers '
                  f'named keep their initial weights: {diff.describe()}', logger='current',
                  level=30)  # logging.WARNING
    return diff


@HOOKS.register_module()
class CheckpointMatchHook(Hook):
    """Check every checkpoint the runner loads with :func:`check_checkpoint_fits`.

    Args:
        mode: what the loaded checkpoint is for, one of :data:`MODES`.
        checkpoint: its path, for messages (``None``: auto-resume's, from ``work_dir``).
    """

    def __init__(self, mode: str, checkpoint: str | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f'CheckpointMatchHook: mode must be one of {MODES}, got {mode!r}')
        self.mode, self.checkpoint = mode, checkpoint

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        filename = self.checkpoint or find_latest_checkpoint(runner.work_dir)
        check_checkpoint_fits(model, checkpoint, str(filename), self.mode)
