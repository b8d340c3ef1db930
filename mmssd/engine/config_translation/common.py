"""Helpers every translation step uses: plain copies, required keys, the rename table."""
from __future__ import annotations

import copy
from typing import Any, NamedTuple

from mmengine.config import Config

from mmssd.utils.config_error import ConfigError

_MISSING = object()


def plain(value: Any) -> Any:
    """A deep copy of ``value`` with every ``ConfigDict`` turned into a ``dict``."""
    if isinstance(value, dict):  # ConfigDict included
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return copy.deepcopy(value)


def require(cfg: Config, key: str) -> Any:
    """``cfg[key]``, or a :class:`ConfigError` naming ``key`` when it is missing or None."""
    if cfg.get(key) is None:
        raise ConfigError(f'config key `{key}` is missing; it is required for training')
    return cfg[key]


class Rename(NamedTuple):
    """A 2.x key whose value goes unchanged to one Runner argument.

    ``source`` and ``target`` are dotted paths (``'log_config.interval'``,
    ``'default_hooks.logger.interval'``); ``default`` is used when ``source`` is absent.
    """

    source: str
    target: str
    default: Any


#: Renames of every run (training and testing), in the style of detectron2's
#: ``config/compat.py`` rename list. Keys needing a decision (GPU or not, a type
#: depending on another key, ...) have their own function instead.
RUNTIME_RENAMES = (
    Rename('launcher', 'launcher', 'none'),
    Rename('log_level', 'log_level', 'INFO'),
    Rename('seed', 'randomness.seed', None),
    Rename('deterministic', 'randomness.deterministic', False),
    Rename('cudnn_benchmark', 'env_cfg.cudnn_benchmark', False),
    Rename('mp_start_method', 'env_cfg.mp_cfg.mp_start_method', 'fork'),
    Rename('opencv_num_threads', 'env_cfg.mp_cfg.opencv_num_threads', 0),
)

#: Renames of training runs only.
TRAIN_RENAMES = (
    Rename('auto_scale_lr', 'auto_scale_lr', None),
    Rename('log_config.interval', 'default_hooks.logger.interval', 50),
)


def _lookup(cfg: Any, path: str) -> Any:
    """The value at dotted ``path`` of ``cfg``, or ``_MISSING`` where a part is absent."""
    for part in path.split('.'):
        if not isinstance(cfg, (dict, Config)) or part not in cfg:
            return _MISSING
        cfg = cfg[part]
    return cfg


def apply_renames(cfg: Config, renames: tuple[Rename, ...], out: dict) -> dict:
    """Write each rename's value (or default) into ``out`` at its target path.

    Dicts on the way are created or extended, so a rename may fill part of a dict that
    another step builds (``env_cfg``, ``default_hooks.logger``). Returns ``out``.
    """
    for rename in renames:
        value = _lookup(cfg, rename.source)
        value = rename.default if value is _MISSING else plain(value)
        *parents, leaf = rename.target.split('.')
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out
