"""Checkpoint conversion from other releases' formats to mmssd's (mmdetection's) names."""
from __future__ import annotations

import math
from collections.abc import Mapping

import torch.nn.functional as F
from torch import Tensor


def _unfold_order_reduction(weight: Tensor) -> Tensor:
    """``reduction (out, 4C)`` from the official concatenation order (patch-major
    ``[x(0,0), x(1,0), x(0,1), x(1,1)]``) to ``nn.Unfold``'s (channel-major ``c*4 + 2*row
    + col``)."""
    out_channels, in_channels = weight.shape
    weight = weight.reshape(out_channels, 4, in_channels // 4)[:, [0, 2, 1, 3], :]
    return weight.transpose(1, 2).reshape(out_channels, in_channels)


def _unfold_order_norm(weight: Tensor) -> Tensor:
    """The merging ``norm``'s ``(4C,)`` weight or bias, reordered as
    :func:`_unfold_order_reduction`."""
    channels = weight.shape[0]
    return weight.reshape(4, channels // 4)[[0, 2, 1, 3], :].transpose(0, 1).reshape(channels)


def swin_converter(checkpoint: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The official Swin Transformer release's state dict (``layers.N.blocks.M.attn.qkv``,
    ``mlp.fc1``/``fc2``, ``patch_embed.proj``, ``layers.N.downsample.{reduction,norm}``) in
    :class:`~mmssd.models.backbones.SwinTransformer`'s names (``stages.N.blocks.M.attn.w_msa.
    qkv``, ``ffn.layers.0.0``/``ffn.layers.1``, ``patch_embed.projection``), with the
    patch-merging channels reordered as mmdetection's ``swin_converter`` does. The
    classifier ``head.*`` is dropped; other keys (the final ``norm``, ``attn_mask``
    buffers) keep their names and are reported as unexpected when loaded."""
    converted: dict[str, Tensor] = {}
    for key, value in checkpoint.items():
        if key.startswith('head'):
            continue
        new_key = key
        if key.startswith('layers.'):
            if 'attn.' in key:
                new_key = key.replace('attn.', 'attn.w_msa.')
            elif 'mlp.fc1.' in key:
                new_key = key.replace('mlp.fc1.', 'ffn.layers.0.0.')
            elif 'mlp.fc2.' in key:
                new_key = key.replace('mlp.fc2.', 'ffn.layers.1.')
            elif 'downsample.reduction.' in key:
                value = _unfold_order_reduction(value)
            elif 'downsample.norm.' in key:
                value = _unfold_order_norm(value)
            new_key = new_key.replace('layers.', 'stages.', 1)
        elif key.startswith('patch_embed.proj.'):
            new_key = key.replace('patch_embed.proj.', 'patch_embed.projection.', 1)
        converted[new_key] = value
    return converted


def _resize_table(key: str, table: Tensor, target: Tensor) -> Tensor:
    """A relative-position bias table ``((2*ws-1)**2, heads)`` resized bicubically to the
    window size of ``target`` (mmdetection's rule); another head count is an error."""
    (rows, heads), (target_rows, target_heads) = table.shape, target.shape
    if heads != target_heads:
        raise ValueError(f'checkpoint {key} has {heads} heads ({tuple(table.shape)}), the '
                         f'model {target_heads} ({tuple(target.shape)}): not the same '
                         'architecture')
    side, target_side = math.isqrt(rows), math.isqrt(target_rows)
    grid = table.permute(1, 0).reshape(1, heads, side, side).float()
    resized = F.interpolate(grid, size=(target_side, target_side), mode='bicubic')
    return resized.reshape(heads, target_rows).permute(1, 0).contiguous().to(table.dtype)


def adapt_swin_state_dict(state_dict: Mapping[str, Tensor], own: Mapping[str, Tensor],
                          name: str) -> dict[str, Tensor]:
    """A Swin backbone state dict made loadable into a model whose state dict is ``own``:
    ``module.`` prefixes stripped, only the ``backbone.*`` keys (prefix removed) of a
    detector checkpoint kept, ``absolute_pos_embed`` ``(1, L, C)`` reshaped (resized when
    the grid differs), relative-position tables of another window size resized bicubically
    and the derived ``relative_position_index`` buffers taken from the model.

    Raises:
        ValueError: a table with another head count (names ``name``, the key and shapes).
    """
    state = {(k[7:] if k.startswith('module.') else k): v for k, v in state_dict.items()}
    if any(k.startswith('backbone.') for k in state):
        state = {k[9:]: v for k, v in state.items() if k.startswith('backbone.')}
    for key in [k for k in state if k.endswith('relative_position_index')]:
        del state[key]
    state.update({k: v for k, v in own.items() if k.endswith('relative_position_index')})
    pos = state.get('absolute_pos_embed')
    if pos is not None and 'absolute_pos_embed' in own:
        target = own['absolute_pos_embed']  # (1, H, W, C)
        if pos.dim() == 3:  # official (1, L, C)
            side = math.isqrt(pos.shape[1])
            pos = pos.reshape(1, side, side, pos.shape[2])
        if pos.shape != target.shape:
            pos = F.interpolate(pos.permute(0, 3, 1, 2), size=tuple(target.shape[1:3]),
                                mode='bicubic', align_corners=False).permute(0, 2, 3, 1)
        state['absolute_pos_embed'] = pos
    for key in [k for k in state if k.endswith('relative_position_bias_table')]:
        if key in own and state[key].shape != own[key].shape:
            try:
                state[key] = _resize_table(key, state[key], own[key])
            except ValueError as error:
                raise ValueError(f'{name}: {error}') from None
    return state
