"""RandomSampler's batched draw: per row the ``num`` candidates of largest random key."""
from __future__ import annotations

import pytest
import torch

from mmssd.models.task_modules.random_sampler import random_row_subset


def sorted_ranks_subset(candidates: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
    """The definition written out: sort each row's keys, keep ranks below ``num[b]``."""
    keys = torch.rand(candidates.shape)
    keys = torch.where(candidates, keys, torch.full_like(keys, -1.))
    out = torch.zeros_like(candidates)
    for b in range(candidates.size(0)):
        order = keys[b].argsort(descending=True)
        out[b, order[:int(num[b])]] = True
    return out & candidates


@pytest.mark.parametrize('seed', range(5))
def test_random_row_subset_equals_the_sorted_definition(seed: int):
    g = torch.Generator().manual_seed(seed)
    candidates = torch.rand(4, 300, generator=g) < torch.tensor([[0.05], [0.5], [0.0], [1.0]])
    num = torch.tensor([7, 128, 5, 0])
    torch.manual_seed(seed)
    expected = sorted_ranks_subset(candidates, num)
    torch.manual_seed(seed)
    picked = random_row_subset(candidates, num)
    assert torch.equal(picked, expected)
    assert picked.sum(1).tolist() == [min(int(c), int(n)) for c, n in
                                      zip(candidates.sum(1), num, strict=True)]
