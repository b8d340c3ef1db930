"""The ``scale_factor`` of image metas as a tensor (rescaling boxes to original pixels)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import Tensor


def scale_factors_tensor(img_metas: Sequence[dict], like: Tensor) -> Tensor:
    """``(B, 1, 4)`` ``[w, h, w, h]`` scale factors of the metas (a scalar is repeated)."""
    factors = []
    for meta in img_metas:
        factor = np.asarray(meta['scale_factor'], dtype=np.float32).reshape(-1)
        factors.append(np.repeat(factor, 4) if factor.size == 1 else factor)
    return like.new_tensor(np.stack(factors))[:, None, :]
