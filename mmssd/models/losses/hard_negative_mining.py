"""SSD's hard negative mining, for a whole batch at once."""
from __future__ import annotations

import torch
from torch import Tensor


def hard_negative_sum(losses: Tensor, neg_mask: Tensor, num_neg: Tensor) -> Tensor:
    """Sum, over images, of the ``num_neg[b]`` largest ``losses[b]`` among ``neg_mask[b]``.

    Equals ``sum_b losses[b][neg_mask[b]].topk(min(num_neg[b], neg_mask[b].sum())).sum()``
    without a loop over images: the candidates of each row are sorted in descending order
    and the entries whose rank is below the row's budget are kept.

    Args:
        losses: ``(B, N)`` per-prior losses.
        neg_mask: ``(B, N)`` bool, the negative candidates.
        num_neg: ``(B,)`` integer budget of negatives per image.

    Returns:
        A scalar tensor.
    """
    num_neg = torch.minimum(num_neg, neg_mask.sum(dim=1))
    candidates = torch.where(neg_mask, losses, torch.full_like(losses, float('-inf')))
    sorted_losses, _ = candidates.sort(dim=1, descending=True)
    ranks = torch.arange(losses.size(1), device=losses.device)
    keep = ranks[None, :] < num_neg[:, None]
    return torch.where(keep, sorted_losses, torch.zeros_like(sorted_losses)).sum()
