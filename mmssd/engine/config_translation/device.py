"""Every choice that depends on whether a GPU is present, in one place.

Each function asks :func:`has_gpu` when it is called (not at import), so one process
translates the same config for the machine it runs on.
"""
from __future__ import annotations

import torch

from mmssd.utils.config_error import ConfigError


def has_gpu() -> bool:
    """Whether CUDA is usable in this process."""
    return torch.cuda.is_available()


def pin_memory() -> bool:
    """DataLoader ``pin_memory``: page-locked batches let the host-to-GPU copy run
    asynchronously; useless without a GPU."""
    return has_gpu()


def dist_backend(requested: str) -> str:
    """The ``torch.distributed`` backend: nccl needs GPUs; gloo runs the same configs on CPU."""
    if requested == 'nccl' and not has_gpu():
        return 'gloo'
    return requested


def mixed_precision_wrapper(fp16: dict) -> dict:
    """The optim-wrapper fields of ``fp16=dict(loss_scale=..., dtype=...)``.

    With a GPU: mmengine's ``AmpOptimWrapper`` (float16 with loss scaling, or the
    ``dtype`` asked for). Without one: bfloat16 autocast on CPU (float16 matmuls are not
    a CPU feature; bfloat16 needs no loss scale).
    """
    if has_gpu():
        return dict(type='AmpOptimWrapper', loss_scale=fp16.get('loss_scale', 'dynamic'),
                    dtype=fp16.get('dtype'))
    dtype = fp16.get('dtype') or 'bfloat16'
    if dtype != 'bfloat16':
        raise ConfigError(f"`fp16.dtype` is '{dtype}', which needs a GPU; on CPU mixed "
                          "precision runs as 'bfloat16'")
    return dict(type='mmssd.AutocastOptimWrapper', device_type='cpu', dtype='bfloat16')


def sync_bn_owner(sync_bn: str | bool | None) -> tuple[str | None, bool]:
    """Who converts BatchNorm for ``sync_bn``: ``(Runner's sync_bn, wrapper's sync_bn)``.

    With GPUs mmengine's Runner does (``'torch'``/``'mmcv'``). Without them torch's
    SyncBatchNorm refuses CPU tensors, so the Runner gets ``None`` and the DDP wrapper
    converts BatchNorm to :class:`~mmssd.engine.AllReduceSyncBatchNorm`.
    """
    if sync_bn not in (None, False, 'torch', 'mmcv'):
        raise ConfigError(f"`sync_bn` is {sync_bn!r}; expected 'torch' (or 'mmcv' with "
                          "mmcv's compiled ops)")
    if not sync_bn:
        return None, False
    if has_gpu():
        return sync_bn, False
    return None, True
