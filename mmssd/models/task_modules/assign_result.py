"""What an assigner decides for each prior box, for one image or a batch."""
from __future__ import annotations

from dataclasses import dataclass

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

    @property
    def pos_mask(self) -> Tensor:
        """``(..., N)`` True where the prior is positive."""
        return self.gt_inds > 0

    @property
    def neg_mask(self) -> Tensor:
        """``(..., N)`` True where the prior is negative."""
        return self.gt_inds == 0
