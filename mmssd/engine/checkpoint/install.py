"""Make mmengine read and write checkpoints the mmssd way: one explicit call per process.

mmengine looks checkpoint loaders and file backends up in process-wide tables. mmssd
replaces two of their entries, and only when an entry point asks (``mmssd.apis``,
``tools/*.py``): importing mmssd changes nothing in mmengine.
"""
from __future__ import annotations

from typing import Any

from mmengine.runner.checkpoint import CheckpointLoader

from .atomic_write import install_atomic_local_backend
from .pretrained_weights import URL_SCHEMES, load_from_url
from .weights_only import load_weights_only


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """:func:`~.weights_only.load_weights_only` under the name mmengine's log line reads
    (``Loads checkpoint by local backend``: the name after ``load_from_``)."""
    return load_weights_only(filename, map_location)


def install_checkpoint_loaders() -> None:
    """mmengine's loaders: local paths (scheme ``''``) through
    :func:`~.weights_only.load_weights_only`, the URL-like
    :data:`~.pretrained_weights.URL_SCHEMES` through
    :func:`~.pretrained_weights.load_from_url` (torch.hub's cache,
    offline-safe, weights-only). Idempotent."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    CheckpointLoader.register_scheme(prefixes=URL_SCHEMES, loader=load_from_url, force=True)


def install_checkpointing() -> None:
    """Install mmssd's checkpoint handling in mmengine for this process (idempotent):

    * every checkpoint is loaded with ``torch.load(weights_only=True)``
      (:func:`install_checkpoint_loaders`);
    * local files (checkpoints, ``last_checkpoint``, dumped configs) are written
      atomically, and a full disk is reported as such
      (:func:`~.atomic_write.install_atomic_local_backend`).
    """
    install_checkpoint_loaders()
    install_atomic_local_backend()
