"""Fast normalized fusion of EfficientDet's BiFPN: a learned, non-negative weighted average."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class WeightedFusion(nn.Module):
    """``sum_i w_i x_i / (eps + sum_i w_i)`` with ``w = relu(weight)`` learned per input.

    Args:
        num_inputs: number of maps fused (all of one shape ``(B, C, H, W)``).
        eps: keeps the denominator away from zero.
    """

    def __init__(self, num_inputs: int, eps: float = 1e-4) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_inputs))
        self.eps = eps

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """``num_inputs`` maps ``(B, C, H, W)`` -> their weighted average ``(B, C, H, W)``."""
        if len(inputs) != self.weight.numel():
            raise ValueError(f'expected {self.weight.numel()} inputs, got {len(inputs)}')
        weight = torch.relu(self.weight)
        weight = weight / (weight.sum() + self.eps)
        return sum(w * x for w, x in zip(weight, inputs, strict=True))
