"""``optimizer``, ``optimizer_config`` and ``fp16`` -> ``optim_wrapper``."""
from __future__ import annotations

from mmengine.config import Config

from mmssd.utils.config_error import ConfigError

from .common import plain, require
from .device import mixed_precision_wrapper


def translate_optimizer(cfg: Config) -> dict:
    """``optimizer`` + ``optimizer_config`` (+ ``fp16``) -> ``optim_wrapper``.

    ``optimizer.paramwise_cfg`` -> ``paramwise_cfg``, ``optimizer_config.grad_clip`` ->
    ``clip_grad``, ``optimizer_config.cumulative_iters`` -> ``accumulative_counts``.
    """
    optimizer = plain(require(cfg, 'optimizer'))
    wrapper: dict = dict(type='OptimWrapper')
    paramwise = optimizer.pop('paramwise_cfg', None)
    if paramwise:
        wrapper['paramwise_cfg'] = paramwise
    wrapper['optimizer'] = optimizer
    opt_cfg = plain(cfg.get('optimizer_config') or {})
    opt_cfg.pop('type', None)
    grad_clip = opt_cfg.pop('grad_clip', None)
    if grad_clip:
        wrapper['clip_grad'] = grad_clip
    cumulative = opt_cfg.pop('cumulative_iters', 1)
    if cumulative > 1:
        wrapper['accumulative_counts'] = cumulative
    wrapper.update(translate_fp16(cfg))
    if opt_cfg:
        raise ConfigError(f'unsupported keys in `optimizer_config`: {sorted(opt_cfg)}; '
                          'known keys: grad_clip, cumulative_iters')
    return wrapper


def translate_fp16(cfg: Config) -> dict:
    """``fp16=dict(loss_scale=..., dtype=...)`` -> the mixed-precision optim-wrapper fields
    (:func:`~.device.mixed_precision_wrapper` decides by the device); ``{}`` without it."""
    fp16 = plain(cfg.get('fp16'))
    if not fp16:
        return {}
    unknown = set(fp16) - {'loss_scale', 'dtype'}
    if unknown:
        raise ConfigError(f'unsupported keys in `fp16`: {sorted(unknown)}; known keys: '
                          'loss_scale, dtype')
    return mixed_precision_wrapper(fp16)
