"""What an assigner decides for each prior box, for one image or a batch."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class AssignResult:
    """Assignment of ``N`` priors to ``G`` ground truths (leading batch dims allowed).

    Attributes:
        num_gts: ground truths per image (an int, or a ``(B,)`` tensor for a batch).
        gt_inds: ``(..., N)`` long: ``0`` negative, ``-1`` ignored, ``i > 0`` matched to
            ground truth ``i - 1``.
        max_overlaps: ``(..., N)`` the IoU with the matched (or best) ground truth.
        labels: ``(..., N)`` long label of the matched ground truth, ``-1`` elsewhere;
            None when no labels were given.
    """

    num_gts: int | Tensor
    gt_inds: Tensor
    max_overlaps: Tensor
    labels: Tensor | None = None

    def of_image(self, i: int, num_gts: int) -> AssignResult:
        """Image ``i`` of a batched result, with its ``num_gts`` ground truths: ``(N,)``
        fields (what an assigner's one-image ``assign`` returns)."""
        return AssignResult(num_gts, self.gt_inds[i], self.max_overlaps[i],
                            None if self.labels is None else self.labels[i])

    @property
    def pos_mask(self) -> Tensor:
        """``(..., N)`` True where the prior is positive."""
        return self.gt_inds > 0

    @property
    def neg_mask(self) -> Tensor:
        """``(..., N)`` True where the prior is negative."""
        return self.gt_inds == 0

    def add_gt_(self, gt_labels: Tensor) -> None:
        """Prepend the ``G`` ground truths as priors matched to themselves (one image, in
        place, as mmdetection's ``add_gt_``): ``gt_inds`` becomes ``[1..G, old]``,
        ``max_overlaps`` ``[1]*G + old`` and ``labels`` ``[gt_labels, old]``."""
        if self.gt_inds.dim() != 1:
            raise ValueError('add_gt_ works on the result of one image; gt_inds has shape '
                             f'{tuple(self.gt_inds.shape)}')
        self_inds = torch.arange(1, len(gt_labels) + 1, dtype=torch.long,
                                 device=self.gt_inds.device)
        self.gt_inds = torch.cat([self_inds, self.gt_inds])
        self.max_overlaps = torch.cat([self.max_overlaps.new_ones(len(gt_labels)),
                                       self.max_overlaps])
        if self.labels is not None:
            self.labels = torch.cat([gt_labels.to(self.labels), self.labels])
        self.num_gts = len(gt_labels)
