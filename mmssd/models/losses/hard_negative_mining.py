"""SSD's hard negative mining, for a whole batch at once."""
from __future__ import annotations

import torch
from torch import Tensor


def hard_negative_sum(losses: Tensor, neg_mask: Tensor, num_neg: Tensor) -> Tensor:
    """Sum, over images, of the ``num_neg[b]`` largest ``losses[b]`` among ``neg_mask[b]``.

    Equals ``sum_b losses[b][neg_mask[b]].topk(min(num_neg[b], neg_mask[b].sum())).sum()``
    without a loop over images: one ``topk`` per row of the largest budget in the batch
    (a few hundred of the ``N`` priors for SSD, much cheaper than sorting every row), then
    each row keeps the entries ranked below its own budget.

    Args:
        losses: ``(B, N)`` per-prior losses.
        neg_mask: ``(B, N)`` bool, the negative candidates.
        num_neg: ``(B,)`` integer budget of negatives per image.

    Returns:
        A scalar tensor.
    """
    num_neg = torch.minimum(num_neg, neg_mask.sum(dim=1))
    max_neg = int(num_neg.max()) if num_neg.numel() else 0
    candidates = torch.where(neg_mask, losses, torch.full_like(losses, float('-inf')))
    hardest = candidates.topk(max_neg, dim=1).values  # (B, max_neg), descending
    keep = torch.arange(max_neg, device=losses.device)[None, :] < num_neg[:, None]
    return torch.where(keep, hardest, torch.zeros_like(hardest)).sum()
