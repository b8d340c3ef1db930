"""Mixed precision where mmengine's ``AmpOptimWrapper`` cannot go: bfloat16 on CPU."""
from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from mmssd.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward runs under ``torch.autocast``.

    For bfloat16 no loss scaling is needed (its exponent range is float32's), so the
    backward and step are plain. The heads compute their losses in float32.

    Args:
        device_type: ``'cpu'`` or ``'cuda'``.
        dtype: ``'bfloat16'`` (or ``'float16'`` with ``device_type='cuda'``; prefer
            mmengine's ``AmpOptimWrapper`` there, which adds loss scaling).
        kwargs: see :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, device_type: str = 'cpu', dtype: str = 'bfloat16', **kwargs):
        super().__init__(**kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f"AutocastOptimWrapper: dtype must be 'bfloat16' or "
                             f"'float16'; got {dtype!r}")
        self.device_type = device_type
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), torch.autocast(self.device_type,
                                                          dtype=self.cast_dtype):
            yield
