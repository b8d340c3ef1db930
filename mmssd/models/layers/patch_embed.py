"""Patch embedding and patch merging of vision transformers (mmdetection's ``PatchEmbed``
and ``PatchMerging`` for Swin: ``projection``/``norm`` and ``reduction``/``norm``)."""
from __future__ import annotations

import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn


class PatchEmbed(BaseModule):
    """Image to patch tokens: pad right/bottom to a multiple of ``patch_size`` (mmdetection's
    ``padding='corner'``), ``projection`` conv (kernel = stride = ``patch_size``), then
    ``norm``. ``(B, C_in, H, W)`` -> ``(B, H' * W', embed_dims)`` and ``(H', W')`` with
    ``H' = ceil(H / patch_size)``."""

    def __init__(self, in_channels: int = 3, embed_dims: int = 96, patch_size: int = 4,
                 norm_cfg: dict | None = None, init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg)
        self.patch_size = patch_size
        self.projection = nn.Conv2d(in_channels, embed_dims, patch_size, stride=patch_size)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1] if norm_cfg else None

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[int, int]]:
        p = self.patch_size
        x = self.projection(F.pad(x, (0, (-x.shape[-1]) % p, 0, (-x.shape[-2]) % p)))
        hw_shape = (x.shape[2], x.shape[3])
        x = x.flatten(2).transpose(1, 2)
        return (self.norm(x) if self.norm is not None else x), hw_shape


class PatchMerging(BaseModule):
    """2x2 patch merging: pad to even sides (right/bottom), concatenate each 2x2 group's
    channels in ``nn.Unfold`` order (channel-major: ``c * 4 + row * 2 + col``, mmdetection's
    order; the official Swin release concatenates patch-major, which the checkpoint
    converter reorders), ``norm`` over ``4C``, ``reduction`` (linear, no bias) to
    ``out_channels``. ``(B, H*W, C)`` -> ``(B, ceil(H/2) * ceil(W/2), out_channels)``."""

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.norm = build_norm_layer(norm_cfg, 4 * in_channels)[1] if norm_cfg else None
        self.reduction = nn.Linear(4 * in_channels, out_channels, bias=False)

    def forward(self, x: Tensor, hw_shape: tuple[int, int]) -> tuple[Tensor, tuple[int, int]]:
        b, _, c = x.shape
        h, w = hw_shape
        x = F.pad(x.view(b, h, w, c), (0, 0, 0, w % 2, 0, h % 2))
        h2, w2 = x.shape[1] // 2, x.shape[2] // 2
        x = x.view(b, h2, 2, w2, 2, c).permute(0, 1, 3, 5, 2, 4).reshape(b, h2 * w2, 4 * c)
        if self.norm is not None:
            x = self.norm(x)
        return self.reduction(x), (h2, w2)
