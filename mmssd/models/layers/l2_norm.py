"""Channel-wise L2 normalization with a learned per-channel scale (SSD's conv4_3 norm)."""
from __future__ import annotations

import torch
from torch import Tensor, nn


class L2Norm(nn.Module):
    """``weight[c] * x[:, c] / ||x||_2`` over channels.

    Args:
        n_dims: number of channels.
        scale: initial value of ``weight``.
        eps: added to the norm.
    """

    def __init__(self, n_dims: int, scale: float = 20., eps: float = 1e-10) -> None:
        super().__init__()
        self.n_dims = n_dims
        self.weight = nn.Parameter(torch.full((n_dims,), float(scale)))
        self.eps = eps
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        """Normalize ``x (B, C, H, W)``; returns the same shape and dtype."""
        x_float = x.float()
        norm = x_float.pow(2).sum(1, keepdim=True).sqrt() + self.eps
        return (self.weight[None, :, None, None].float() * x_float / norm).type_as(x)
