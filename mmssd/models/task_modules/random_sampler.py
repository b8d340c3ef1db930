"""mmdetection's ``RandomSampler``: a random subset of positives and negatives."""
from __future__ import annotations

import torch
from torch import Tensor

from mmssd.registry import TASK_UTILS

from .assign_result import AssignResult
from .pseudo_sampler import SamplingResult


def random_choice(gallery: Tensor, num: int) -> Tensor:
    """``num`` distinct random elements of the 1-D ``gallery`` (``torch.randperm``)."""
    if len(gallery) < num:
        raise ValueError(f'cannot draw {num} distinct elements from {len(gallery)}')
    perm = torch.randperm(gallery.numel(), device=gallery.device)[:num]
    return gallery[perm]


def random_row_subset(candidates: Tensor, num: Tensor) -> Tensor:
    """``(B, N)`` bool: per row a uniformly random subset of ``min(num[b], count)`` of the
    True entries of ``candidates (B, N)`` (random keys, keep the ``num[b]`` largest: a
    ``topk`` of the largest budget, not a sort of every row)."""
    keys = torch.rand(candidates.shape, device=candidates.device)
    keys = torch.where(candidates, keys, torch.full_like(keys, -1.))
    k = int(num.clamp(min=0, max=keys.size(1)).max()) if num.numel() else 0
    top = keys.topk(k, dim=1).indices  # (B, k), largest first
    chosen = torch.arange(k, device=keys.device)[None, :] < num[:, None]
    picked = torch.zeros_like(candidates).scatter_(1, top, chosen)
    return candidates & picked


@TASK_UTILS.register_module()
class RandomSampler:
    """Sample at most ``num`` priors, ``pos_fraction`` of them positive (mmdetection 2.x).

    ``num_expected_pos = int(num * pos_fraction)`` positives are drawn at random (all of
    them when there are fewer); then ``num - num_sampled_pos`` negatives, at most
    ``int(neg_pos_ub * max(1, num_sampled_pos))`` when ``neg_pos_ub >= 0``.

    :meth:`sample` works on one image (the RoI heads' per-image proposals,
    :func:`~mmssd.models.roi_heads.standard_roi_head.assign_and_sample`) and, with
    ``add_gt_as_proposals``, first prepends the ground truths to the priors (and to the
    assignment, in place, as mmdetection does). :meth:`sample_batched` (the RPN's anchors)
    samples every image of a batched assignment at once, with the same budgets, but never
    adds ground truths as proposals (the priors are shared by the images there).

    Randomness comes from torch's global generator (seed it with ``torch.manual_seed``).

    Args:
        num: priors sampled per image.
        pos_fraction: the fraction of positives.
        neg_pos_ub: upper bound of negatives per positive (``-1``: none).
        add_gt_as_proposals: add the ground truths as positive priors in :meth:`sample`.
    """

    def __init__(self, num: int, pos_fraction: float, neg_pos_ub: float = -1,
                 add_gt_as_proposals: bool = True) -> None:
        self.num = num
        self.pos_fraction = pos_fraction
        self.neg_pos_ub = neg_pos_ub
        self.add_gt_as_proposals = add_gt_as_proposals

    def _num_expected_neg(self, num_sampled_pos: Tensor) -> Tensor:
        num_expected_neg = self.num - num_sampled_pos
        if self.neg_pos_ub >= 0:
            upper = (self.neg_pos_ub * num_sampled_pos.clamp(min=1).double()).long()
            num_expected_neg = torch.minimum(num_expected_neg, upper)
        return num_expected_neg

    def sample(self, assign_result: AssignResult, bboxes: Tensor, gt_bboxes: Tensor,
               gt_labels: Tensor | None = None) -> SamplingResult:
        """Sampling result of one image: priors ``bboxes (N, 4)``, ``gt_bboxes (G, 4)``."""
        if bboxes.dim() < 2:
            bboxes = bboxes[None, :]
        bboxes = bboxes[:, :4]
        gt_flags = bboxes.new_zeros((bboxes.size(0),), dtype=torch.uint8)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            if gt_labels is None:
                raise ValueError('gt_labels must be given when add_gt_as_proposals is True')
            bboxes = torch.cat([gt_bboxes[:, :4].to(bboxes), bboxes], dim=0)
            assign_result.add_gt_(gt_labels)
            gt_flags = torch.cat([gt_flags.new_ones(gt_bboxes.size(0)), gt_flags])
        pos_inds = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).view(-1)
        num_expected_pos = int(self.num * self.pos_fraction)
        if pos_inds.numel() > num_expected_pos:
            pos_inds = random_choice(pos_inds, num_expected_pos)
        pos_inds = pos_inds.unique()
        num_expected_neg = int(self._num_expected_neg(torch.tensor(pos_inds.numel())))
        neg_inds = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).view(-1)
        if neg_inds.numel() > num_expected_neg:
            neg_inds = random_choice(neg_inds, num_expected_neg)
        neg_inds = neg_inds.unique()
        pos_assigned = assign_result.gt_inds[pos_inds] - 1
        pos_gt = (gt_bboxes[pos_assigned, :4] if gt_bboxes.numel() else
                  gt_bboxes.new_zeros((0, 4)))
        return SamplingResult(pos_inds, neg_inds, bboxes[pos_inds], pos_gt, pos_assigned,
                              bboxes[neg_inds], gt_flags[pos_inds])

    def sample_batched(self, assign_result: AssignResult) -> tuple[Tensor, Tensor]:
        """``(pos_mask, neg_mask)``, each ``(B, N)`` bool, of a batched assignment."""
        pos, neg = assign_result.pos_mask, assign_result.neg_mask
        num_expected_pos = torch.full((pos.size(0),), int(self.num * self.pos_fraction),
                                      dtype=torch.long, device=pos.device)
        pos_mask = random_row_subset(pos, num_expected_pos)
        neg_mask = random_row_subset(neg, self._num_expected_neg(pos_mask.sum(dim=1)))
        return pos_mask, neg_mask

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num={self.num}, pos_fraction={self.pos_fraction}, '
                f'neg_pos_ub={self.neg_pos_ub}, add_gt_as_proposals={self.add_gt_as_proposals})')
