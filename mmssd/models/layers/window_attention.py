"""Window multi-head self-attention of Swin Transformer (mmdetection's ``WindowMSA`` and
``ShiftWindowMSA``), batched over every window of every image."""
from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks.drop import DropPath
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor, nn

#: value added to the logits of token pairs from different regions of a shifted window
#: (mmdetection's and the official Swin's, rather than -inf)
MASKED_LOGIT = -100.0


def relative_position_index(window_size: int) -> Tensor:
    """``(N, N)`` int64 index into the ``(2 * ws - 1)**2`` rows of the relative-position
    bias table for the ``N = ws**2`` tokens of a window (row-major):
    ``(dh + ws - 1) * (2 * ws - 1) + (dw + ws - 1)`` for the offset ``(dh, dw)`` of token
    ``i`` from token ``j``."""
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size),
                                        indexing='ij')).flatten(1)  # (2, N)
    offset = coords[:, :, None] - coords[:, None, :] + window_size - 1  # (2, N, N)
    return offset[0] * (2 * window_size - 1) + offset[1]


def window_partition(x: Tensor, window_size: int) -> Tensor:
    """``(B, H, W, C)`` (H, W multiples of ``window_size``) -> ``(B, nW, ws * ws, C)``,
    windows in row-major order."""
    b, h, w, c = x.shape
    x = x.view(b, h // window_size, window_size, w // window_size, window_size, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, -1, window_size * window_size, c)


def window_reverse(windows: Tensor, h: int, w: int, ws: int) -> Tensor:
    """Inverse of :func:`window_partition`: ``(B, nW, ws * ws, C)`` -> ``(B, H, W, C)``."""
    b, c = windows.shape[0], windows.shape[-1]
    x = windows.view(b, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, c)


@lru_cache(maxsize=64)
def shifted_window_mask(h: int, w: int, window_size: int, shift_size: int,
                        device: torch.device) -> Tensor:
    """``(nW, N, N)`` float mask of the shifted windows of an ``h x w`` (padded) map:
    0 where both tokens come from the same region before the cyclic shift, else
    :data:`MASKED_LOGIT`. Computed once per size and device (cached)."""
    region = torch.zeros(h, w, dtype=torch.int64, device=device)
    bounds = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
    for i, rows in enumerate(bounds):
        for j, cols in enumerate(bounds):
            region[rows, cols] = 3 * i + j
    windows = window_partition(region[None, :, :, None], window_size)[0, :, :, 0]  # (nW, N)
    differs = windows[:, :, None] != windows[:, None, :]
    return torch.zeros(differs.shape, device=device).masked_fill_(differs, MASKED_LOGIT)


class WindowMSA(BaseModule):
    """Multi-head self-attention inside windows, with a learnt relative-position bias.

    Args:
        embed_dims: channels ``C``.
        num_heads: attention heads (``C`` divisible by it).
        window_size: window side ``ws`` (``N = ws**2`` tokens per window).
        qkv_bias: bias of the ``qkv`` projection.
        qk_scale: logit scale; default ``head_dims ** -0.5``.
        attn_drop_rate: dropout on the attention weights.
        proj_drop_rate: dropout after ``proj``.
    """

    def __init__(self, embed_dims: int, num_heads: int, window_size: int,
                 qkv_bias: bool = True, qk_scale: float | None = None,
                 attn_drop_rate: float = 0., proj_drop_rate: float = 0.,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg)
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by num_heads '
                             f'{num_heads}')
        self.embed_dims, self.num_heads, self.window_size = embed_dims, num_heads, window_size
        self.scale = qk_scale or (embed_dims // num_heads)**-0.5
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1)**2, num_heads))
        self.register_buffer('relative_position_index', relative_position_index(window_size))
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop_rate = attn_drop_rate
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)

    def init_weights(self) -> None:
        trunc_normal_(self.relative_position_bias_table, std=0.02)

    def relative_position_bias(self) -> Tensor:
        """``(num_heads, N, N)``: the bias added to each head's logits."""
        n = self.window_size**2
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(n, n, -1).permute(2, 0, 1)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``x (B, nW, N, C)`` windows, ``mask (nW, N, N)`` or None -> ``(B, nW, N, C)``."""
        b, nw, n, c = x.shape
        qkv = self.qkv(x).view(b, nw, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).unbind(0)  # each (B, nW, heads, N, d)
        # an explicit matmul-softmax-matmul: on CPU its forward + backward takes 0.75x the
        # CPU time of scaled_dot_product_attention with this additive mask (torch 2.14)
        attn = (q * self.scale) @ k.transpose(-2, -1) + self.relative_position_bias()
        if mask is not None:
            attn = attn + mask[:, None]  # (B, nW, heads, N, N) + (nW, 1, N, N)
        attn = F.dropout(attn.softmax(-1), self.attn_drop_rate, self.training)
        out = attn @ v
        out = out.transpose(2, 3).reshape(b, nw, n, c)
        return self.proj_drop(self.proj(out))


class ShiftWindowMSA(BaseModule):
    """(Shifted-)window attention on a token map: pad to whole windows (right and bottom,
    zeros, as mmdetection), cyclic shift by ``shift_size``, :class:`WindowMSA` with the
    cached :func:`shifted_window_mask`, shift back, crop, drop-path.

    ``forward(query (B, H*W, C), hw_shape (H, W))`` -> ``(B, H*W, C)``.
    """

    def __init__(self, embed_dims: int, num_heads: int, window_size: int,
                 shift_size: int = 0, qkv_bias: bool = True, qk_scale: float | None = None,
                 attn_drop_rate: float = 0., proj_drop_rate: float = 0.,
                 drop_path_rate: float = 0., init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg)
        if not 0 <= shift_size < window_size:
            raise ValueError(f'shift_size must be in [0, window_size={window_size}), got '
                             f'{shift_size}')
        self.window_size, self.shift_size = window_size, shift_size
        self.w_msa = WindowMSA(embed_dims, num_heads, window_size, qkv_bias, qk_scale,
                               attn_drop_rate, proj_drop_rate)
        self.drop = DropPath(drop_path_rate)

    def forward(self, query: Tensor, hw_shape: tuple[int, int]) -> Tensor:
        b, _, c = query.shape
        h, w = hw_shape
        ws, shift = self.window_size, self.shift_size
        x = F.pad(query.view(b, h, w, c), (0, 0, 0, (-w) % ws, 0, (-h) % ws))
        h_pad, w_pad = x.shape[1:3]
        mask = None
        if shift:
            x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
            mask = shifted_window_mask(h_pad, w_pad, ws, shift, x.device)
        x = window_reverse(self.w_msa(window_partition(x, ws), mask), h_pad, w_pad, ws)
        if shift:
            x = torch.roll(x, shifts=(shift, shift), dims=(1, 2))
        return self.drop(x[:, :h, :w].reshape(b, h * w, c))
