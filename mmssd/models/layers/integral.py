"""GFL's integral of a discrete distribution: the expected value of each box side."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Integral(nn.Module):
    """Expected value of a distribution over the bins ``0, 1, ..., reg_max``.

    The input holds, for each of the 4 box sides, ``reg_max + 1`` logits; their softmax
    weights the bins ``0..reg_max`` (the buffer ``project``, saved in the state dict as
    mmdetection's). ``(..., 4 * (reg_max + 1))`` -> ``(..., 4)`` distances in units of the
    level's stride.

    Args:
        reg_max: the largest bin.
    """

    def __init__(self, reg_max: int = 16) -> None:
        super().__init__()
        self.reg_max = reg_max
        self.register_buffer('project', torch.linspace(0, reg_max, reg_max + 1))

    def forward(self, x: Tensor) -> Tensor:
        """``(..., 4 * (reg_max + 1))`` logits -> ``(..., 4)`` expected distances."""
        bins = self.reg_max + 1
        if x.size(-1) != 4 * bins:
            raise ValueError(f'Integral(reg_max={self.reg_max}) expects a last dimension of '
                             f'{4 * bins}, got shape {tuple(x.shape)}')
        probs = F.softmax(x.reshape(*x.shape[:-1], 4, bins), dim=-1)
        return probs @ self.project.to(probs.dtype)
