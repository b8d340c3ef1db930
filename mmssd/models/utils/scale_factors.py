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


class BatchImgShapes:
    """Image metas of a batch given as one tensor, for traced (exported) graphs.

    Exported graphs take each image's ``img_shape`` as an input ``(B, 2)`` ``[h, w]``
    tensor, and the batch size is dynamic, so no code may loop over a list of metas. Heads
    read shapes through :func:`img_shapes_tensor`, which accepts both this and a list of
    meta dicts.

    Args:
        img_shapes: ``(B, 2)`` float ``[h, w]`` of each image inside the padded batch.
    """

    def __init__(self, img_shapes: Tensor) -> None:
        self.img_shapes = img_shapes


def img_shapes_tensor(img_metas: Sequence[dict] | BatchImgShapes, like: Tensor) -> Tensor:
    """``(B, 2)`` ``[h, w]`` of each image (``img_shape[:2]`` of the metas, or the tensor
    of a :class:`BatchImgShapes`), on ``like``'s device and dtype."""
    if isinstance(img_metas, BatchImgShapes):
        return img_metas.img_shapes.to(like)
    return like.new_tensor([[float(s) for s in meta['img_shape'][:2]] for meta in img_metas])
