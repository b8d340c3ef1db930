"""Checkpoints that ``torch.load(weights_only=True)`` can read, and a loader that insists on it.

torch >= 2.6 unpickles checkpoints with ``weights_only=True``. mmengine's checkpoints hold
``HistoryBuffer`` objects full of numpy arrays and numpy scalars; reading those would need
numpy's reconstructors and, in the end, the builtin ``getattr``, which would reopen
arbitrary code execution. So mmssd

* saves checkpoints with numpy values turned into tensors or Python numbers and every
  ``HistoryBuffer`` turned into a plain dict (:func:`to_weights_only`), and rebuilds the
  buffers after loading (:func:`restore_history_buffers`);
* loads every checkpoint with ``weights_only=True``, allowing only a few plain data
  classes (:data:`SAFE_GLOBALS`), and never falls back to unsafe loading (local paths and
  URLs alike, once :func:`mmssd.engine.checkpoint.install_checkpointing` has run).
"""
from __future__ import annotations

import collections
import pickle
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

#: Marker key of a HistoryBuffer saved as a plain dict.
HISTORY_BUFFER_KEY = '__history_buffer__'

#: Plain data classes that may appear in checkpoints (MultiStepLR keeps a Counter).
SAFE_GLOBALS = [collections.Counter, collections.OrderedDict, collections.defaultdict]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint that holds objects ``weights_only`` loading refuses."""


def to_weights_only(value: Any) -> Any:
    """``value`` with numpy data and ``HistoryBuffer`` s turned into safe types."""
    if isinstance(value, HistoryBuffer):
        logs, counts = value.data
        return {HISTORY_BUFFER_KEY: True, 'log_history': torch.from_numpy(np.asarray(logs)),
                'count_history': torch.from_numpy(np.asarray(counts)),
                'max_length': int(value.max_length)}
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        converted = {k: to_weights_only(v) for k, v in value.items()}
        return type(value)(converted) if isinstance(value, collections.OrderedDict) else converted
    if isinstance(value, list):
        return [to_weights_only(v) for v in value]
    if isinstance(value, tuple):
        return tuple(to_weights_only(v) for v in value)
    return value


def restore_history_buffers(value: Any) -> Any:
    """Inverse of :func:`to_weights_only` for ``HistoryBuffer`` s (in ``message_hub``)."""
    if isinstance(value, dict) and value.get(HISTORY_BUFFER_KEY):
        return HistoryBuffer(value['log_history'].numpy(), value['count_history'].numpy(),
                             value['max_length'])
    if isinstance(value, dict):
        return {k: restore_history_buffers(v) for k, v in value.items()}
    return value


def load_weights_only(filename: str, map_location: Any = None) -> Any:
    """``torch.load`` with ``weights_only=True`` and :data:`SAFE_GLOBALS` allowed.

    Raises:
        UnsafeCheckpointError: the file holds other objects; the message names the file
            and the refused object. The file is not loaded any other way.
    """
    with torch.serialization.safe_globals(SAFE_GLOBALS):
        try:
            return torch.load(filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as error:
            raise UnsafeCheckpointError(
                f'checkpoint {filename} holds objects that safe loading '
                f'(torch.load(weights_only=True)) refuses, so mmssd will not load it. '
                f'Details: {error}. Checkpoints written by mmssd never hold such objects; '
                'a checkpoint from elsewhere must be re-saved as a plain dict of tensors '
                'in an environment you trust.') from None
