"""A sampler that keeps every positive and negative (SSD mines negatives in its loss)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mmssd.registry import TASK_UTILS

from .assign_result import AssignResult


@dataclass
class SamplingResult:
    """Sampled priors of one image.

    Attributes:
        pos_inds: ``(P,)`` indices of positive priors.
        neg_inds: ``(Q,)`` indices of negative priors.
        pos_bboxes: ``(P, 4)`` the positive priors.
        pos_gt_bboxes: ``(P, 4)`` their ground truths.
        pos_assigned_gt_inds: ``(P,)`` 0-based ground-truth index of each positive.
        neg_bboxes: ``(Q, 4)`` the negative priors (None when not computed).
        pos_is_gt: ``(P,)`` uint8, 1 where the positive is a ground truth added as a
            proposal (None when not computed).
    """

    pos_inds: Tensor
    neg_inds: Tensor
    pos_bboxes: Tensor
    pos_gt_bboxes: Tensor
    pos_assigned_gt_inds: Tensor
    neg_bboxes: Tensor | None = None
    pos_is_gt: Tensor | None = None


@TASK_UTILS.register_module()
class PseudoSampler:
    """Takes all positives and all negatives of an assignment (no arguments).

    :meth:`sample_batched` serves the dense heads (a batch sharing its anchors);
    :meth:`sample` serves the RoI heads' per-image proposals
    (:func:`~mmssd.models.roi_heads.standard_roi_head.assign_and_sample`).
    """

    def sample(self, assign_result: AssignResult, bboxes: Tensor, gt_bboxes: Tensor,
               gt_labels: Tensor | None = None) -> SamplingResult:
        """Sampling result of one image: priors ``bboxes (N, 4)``, ``gt_bboxes (G, 4)``
        (``gt_labels`` is accepted for the samplers' common call and not needed)."""
        pos_inds = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).squeeze(-1)
        neg_inds = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).squeeze(-1)
        pos_assigned = assign_result.gt_inds[pos_inds] - 1
        pos_gt = (gt_bboxes[pos_assigned] if gt_bboxes.numel() else
                  gt_bboxes.new_zeros((0, 4)))
        return SamplingResult(pos_inds, neg_inds, bboxes[pos_inds], pos_gt, pos_assigned,
                              bboxes[neg_inds], pos_inds.new_zeros(len(pos_inds),
                                                                   dtype=torch.uint8))

    def sample_batched(self, assign_result: AssignResult) -> tuple[Tensor, Tensor]:
        """``(pos_mask, neg_mask)``, each ``(B, N)`` bool, of a batched assignment."""
        return assign_result.pos_mask, assign_result.neg_mask
