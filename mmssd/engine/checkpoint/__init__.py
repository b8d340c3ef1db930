"""Checkpoints: safe to load, written atomically, matched to the model, installed explicitly.

* :mod:`.weights_only`: checkpoints ``torch.load(weights_only=True)`` can read, and the
  loader that insists on it;
* :mod:`.atomic_write`: file writes that never leave a half-written file (and name a full
  disk);
* :mod:`.hooks`: ``SafeCheckpointHook`` and ``LatestCheckpointHook`` (``checkpoint_config``);
* :mod:`.model_match`: a checkpoint that does not fit the model is named, key by key;
* :mod:`.pretrained_weights`: weights named by URL, ``torchvision://``, ``open-mmlab://``
  ... through torch.hub's cache, offline-safe;
* :mod:`.install`: :func:`install_checkpointing`, which the entry points (``mmssd.apis``,
  ``tools/``) call; importing this package does not change mmengine.
"""
from .atomic_write import AtomicLocalBackend, DiskFullError, write_atomically
from .hooks import LATEST, LatestCheckpointHook, SafeCheckpointHook, point_latest_at
from .install import install_checkpoint_loaders, install_checkpointing, load_from_local
from .model_match import (
    CheckpointMatchHook,
    CheckpointMismatchError,
    check_checkpoint_fits,
    state_dict_differences,
)
from .weights_only import (
    SAFE_GLOBALS,
    UnsafeCheckpointError,
    load_weights_only,
    restore_history_buffers,
    to_weights_only,
)

__all__ = ['LATEST', 'SAFE_GLOBALS', 'AtomicLocalBackend', 'CheckpointMatchHook',
           'CheckpointMismatchError', 'DiskFullError', 'LatestCheckpointHook',
           'SafeCheckpointHook', 'UnsafeCheckpointError', 'check_checkpoint_fits',
           'install_checkpoint_loaders', 'install_checkpointing', 'load_from_local',
           'load_weights_only', 'point_latest_at', 'restore_history_buffers',
           'state_dict_differences', 'to_weights_only', 'write_atomically']
