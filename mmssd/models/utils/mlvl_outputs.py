"""Multi-level dense-head outputs: flattening the levels, the per-level pre-NMS top-k.

Shapes: ``B`` images, per level ``l`` maps ``(B, A_l * K, H_l, W_l)`` (``A_l`` anchors per
location, ``K`` values per anchor), flattened in the anchor order ``(level, H, W, A)`` of
the anchor generators.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def levels_to_batch(maps: Sequence[Tensor], channels: int) -> Tensor:
    """Per-level head outputs ``[(B, A_l * channels, H_l, W_l)]`` -> ``(B, N, channels)``,
    anchor order ``(level, H, W, A)`` as the anchor generator's."""
    batch_size = maps[0].size(0)
    return torch.cat(
        [m.permute(0, 2, 3, 1).reshape(batch_size, -1, channels) for m in maps], dim=1)


def level_topk(scores: Tensor, nms_pre: int) -> Tensor | None:
    """Indices ``(B, nms_pre)`` of each image's ``nms_pre`` candidates of highest
    foreground score among one level's ``scores (B, n, C + 1)`` (background last), or None
    when ``nms_pre <= 0`` or the level holds no more than ``nms_pre`` (all kept).

    The per-level pre-NMS selection of post-processing, used by
    :meth:`~mmssd.models.dense_heads.BaseDenseHead.mlvl_topk_decode` in eager runs and in the
    exported graphs (:mod:`mmssd.deployment`). While tracing, the number of candidates is
    a tensor of the traced input's shape: the top-k always stays in the graph, with
    ``k = min(nms_pre, n)`` computed in it.
    """
    if nms_pre > 0 and torch.jit.is_tracing():
        k = torch.clamp(torch._shape_as_tensor(scores)[1], max=nms_pre)
        return scores[..., :-1].amax(dim=-1).topk(k, dim=1).indices
    if 0 < nms_pre < scores.size(1):
        # amax: the values of max(...).values, cheaper
        return scores[..., :-1].amax(dim=-1).topk(nms_pre, dim=1).indices
    return None


def take_rows(values: Tensor, inds: Tensor) -> Tensor:
    """``values (B, n, ...)`` at per-image rows ``inds (B, k)`` -> ``(B, k, ...)``."""
    return values[torch.arange(values.size(0), device=inds.device)[:, None], inds]
