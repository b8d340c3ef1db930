"""Strict model configs: a misspelt key stops the build instead of being ignored.

Heads, assigners, samplers, coders, anchor generators and NMS configs are read with
``.get(key, default)``, which would silently ignore ``neg_pos_ration`` or ``iou_thr``.
Every reader checks its config here first, and errors name the full config path:

- :func:`check_cfg_keys` refuses keys outside a reader's list (did-you-mean included);
  :func:`build_checked` does it for a registry class, from its constructor's arguments.
- The error, :class:`ConfigKeyError` (a :class:`~mmssd.utils.config_error.ConfigError`),
  carries the path relative to the object that raised it; each enclosing builder adds
  its own part with :func:`cfg_path`, so a head built by a detector reports
  ``model.test_cfg.nms.iou_thr`` and a head built alone ``test_cfg.nms.iou_thr``.
"""
from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from mmssd.utils.config_error import ConfigError, did_you_mean

from .soft_nms import SOFT_NMS_METHODS

#: Keys mmdetection 2.x accepts in these configs and never reads; accepted and ignored.
IGNORED_KEYS = ('debug',)

#: Keys of an NMS config (``test_cfg.nms``): ``split_thr`` is an mmcv speed setting that
#: does not change the result.
NMS_KEYS = ('type', 'iou_threshold', 'class_agnostic', 'split_thr')
#: Keys of ``nms=dict(type='soft_nms', ...)`` (mmcv 1.x's ``soft_nms`` arguments).
SOFT_NMS_KEYS = (*NMS_KEYS, 'sigma', 'min_score', 'method')
NMS_TYPES = ('nms', 'soft_nms')


class ConfigKeyError(ConfigError):
    """A key of a model config that is unknown, missing, or has a bad value.

    Attributes:
        path: dotted path of the dict holding the key, relative to the object that raised
            (enclosing builders extend it with :func:`cfg_path`); ``''`` at the top.
        key: the key at fault.
        kind: ``'unknown'``, ``'missing'`` or ``'invalid'``.
        allowed: the keys the reader knows (for ``'unknown'``: the did-you-mean).
        detail: what was expected (for ``'missing'`` and ``'invalid'``).
    """

    def __init__(self, path: str, key: str, kind: str, allowed: Sequence[str] = (),
                 detail: str = '') -> None:
        super().__init__(path, key, kind, tuple(allowed), detail)
        self.path, self.key, self.kind = path, key, kind
        self.allowed, self.detail = tuple(allowed), detail

    def relocate(self, path: str, key: str | None = None) -> None:
        """Move the error to ``path`` (and ``key``), keeping ``args`` in step (pickling)."""
        self.path, self.key = path, self.key if key is None else key
        self.args = (self.path, self.key, self.kind, self.allowed, self.detail)

    @property
    def full_key(self) -> str:
        """``path.key``."""
        return f'{self.path}.{self.key}' if self.path else self.key

    def __str__(self) -> str:
        where = f'`{self.full_key}`'
        if self.kind == 'unknown':
            known = ', '.join(sorted(self.allowed))
            return (f'unknown config key {where}{did_you_mean(self.key, self.allowed)} '
                    f'(known keys there: {known}; a misspelt key would otherwise be '
                    'silently ignored)')
        if self.kind == 'missing':
            return f'config key {where} is missing' + (f': {self.detail}' if self.detail else '')
        return f'config key {where}: {self.detail}'


def check_cfg_keys(cfg: Mapping | None, allowed: Sequence[str], where: str = '') -> None:
    """Raise :class:`ConfigKeyError` for the first key of ``cfg`` outside ``allowed``
    (and :data:`IGNORED_KEYS`), with the closest allowed name.

    Args:
        cfg: the config dict (None: nothing to check).
        allowed: the keys its reader understands.
        where: dotted path of ``cfg``, e.g. ``'train_cfg'`` or ``'model.train_cfg'``.
    """
    for key in cfg or {}:
        if key not in allowed and key not in IGNORED_KEYS:
            raise ConfigKeyError(where, key, 'unknown', allowed)


def require_cfg_key(cfg: Mapping, key: str, where: str = '', detail: str = '') -> Any:
    """``cfg[key]``, or :class:`ConfigKeyError` (``'missing'``) naming ``where.key``."""
    if key not in cfg:
        raise ConfigKeyError(where, key, 'missing', detail=detail)
    return cfg[key]


def invalid_cfg_value(key: str, detail: str, where: str = '') -> ConfigKeyError:
    """The error for a bad value of ``where.key``; ``detail`` says what was expected."""
    return ConfigKeyError(where, key, 'invalid', detail=detail)


def check_nms_cfg(nms_cfg: Mapping | None, where: str = 'nms') -> None:
    """Check an NMS config: ``type`` in :data:`NMS_TYPES`, known keys (:data:`NMS_KEYS`,
    :data:`SOFT_NMS_KEYS` for ``soft_nms``), an ``iou_threshold`` in ``[0, 1]`` (required
    by ``nms``; ``soft_nms`` defaults to mmcv's 0.3), and soft-NMS's ``method`` and a
    positive ``sigma``."""
    if nms_cfg is None:
        raise ConfigKeyError(*_split(where), 'missing',
                             detail="expected dict(type='nms', iou_threshold=...)")
    nms_type = nms_cfg.get('type', 'nms')
    if nms_type not in NMS_TYPES:
        raise invalid_cfg_value('type', f'expected one of {list(NMS_TYPES)}, got '
                                f'{nms_type!r}{did_you_mean(str(nms_type), NMS_TYPES)}', where)
    check_cfg_keys(nms_cfg, SOFT_NMS_KEYS if nms_type == 'soft_nms' else NMS_KEYS, where)
    if nms_type == 'nms':
        iou = require_cfg_key(nms_cfg, 'iou_threshold', where, 'the IoU above which NMS '
                              'suppresses a box')
    else:
        iou = nms_cfg.get('iou_threshold', 0.3)
        method = nms_cfg.get('method', 'linear')
        if method not in SOFT_NMS_METHODS:
            raise invalid_cfg_value('method', f'expected one of {list(SOFT_NMS_METHODS)}, '
                                    f'got {method!r}', where)
        if float(nms_cfg.get('sigma', 0.5)) <= 0:
            raise invalid_cfg_value('sigma', f"expected a positive width, got "
                                    f"{nms_cfg['sigma']}", where)
    if not 0 <= float(iou) <= 1:
        raise invalid_cfg_value('iou_threshold', f'expected a value in [0, 1], got {iou}', where)


def _split(path: str) -> tuple[str, str]:
    parent, _, key = path.rpartition('.')
    return parent, key


def init_args(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """``(names, required names)`` of the keyword arguments of ``cls.__init__``; None when
    it takes ``**kwargs`` (the keys it passes on cannot be known here)."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return (tuple(p.name for p in named),
            tuple(p.name for p in named if p.default is inspect.Parameter.empty))


def build_checked(registry: Any, cfg: Any, where: str) -> Any:
    """``registry.build(cfg)`` after checking ``cfg``'s keys against the constructor of its
    ``type``: an unknown key or a missing required one -> :class:`ConfigKeyError` at
    ``where``. Config errors raised while building get ``where`` prepended to their path."""
    if not isinstance(cfg, Mapping):
        parent, key = _split(where)
        raise invalid_cfg_value(key, f'expected a config dict with a type, got {cfg!r}', parent)
    cls = cfg.get('type')
    cls = registry.get(cls) if isinstance(cls, str) else cls
    args = init_args(cls) if isinstance(cls, type) else None
    if args is not None:
        names, required = args
        check_cfg_keys({k: v for k, v in cfg.items() if k != 'type'}, names, where)
        for name in required:
            require_cfg_key(cfg, name, where, f'{cls.__name__} needs it')
    with cfg_path(where):
        return registry.build(cfg)


@contextmanager
def cfg_path(prefix: str, roots: Mapping[str, str] | None = None) -> Iterator[None]:
    """Locate the :class:`ConfigKeyError` s raised inside under ``prefix``.

    ``roots`` maps the first part of an error's path to where it really sits (a
    detector hands its ``train_cfg`` to the head: ``{'train_cfg': 'model.train_cfg'}``);
    other paths get ``prefix`` in front.
    """
    try:
        yield
    except ConfigKeyError as err:
        first, _, rest = err.path.partition('.')
        if roots and (first in roots or (not err.path and err.key in roots)):
            if err.path:
                err.relocate('.'.join(p for p in (roots[first], rest) if p))
            else:  # the error is about the root key itself
                err.relocate(*_split(roots[err.key]))
        else:
            err.relocate('.'.join(p for p in (prefix, err.path) if p))
        raise
