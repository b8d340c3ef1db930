"""The training targets of an anchor head for a whole batch."""
from __future__ import annotations

from typing import NamedTuple

from torch import Tensor


class AnchorTargets(NamedTuple):
    """Training targets of a batch.

    Attributes:
        labels: ``(B, N)`` long; the class of positives (0 when no labels are given, as
            for RPN), ``C`` (background) elsewhere.
        label_weights: ``(B, N)``; 1 for positives (or ``pos_weight``) and negatives,
            0 for ignored anchors and anchors outside the image (``allowed_border``).
        bbox_targets: ``(B, N, 4)`` encoded deltas (boxes with ``reg_decoded_bbox``),
            zero at non-positives.
        bbox_weights: ``(B, N, 4)``; 1 at positives.
        num_total_pos: float scalar tensor, ``sum_b max(num_pos_b, 1)`` (mmdetection's
            average factor), averaged over the processes of a distributed run.
        num_total_neg: float scalar tensor, ``sum_b max(num_neg_b, 1)``, likewise.
    """

    labels: Tensor
    label_weights: Tensor
    bbox_targets: Tensor
    bbox_weights: Tensor
    num_total_pos: Tensor
    num_total_neg: Tensor
