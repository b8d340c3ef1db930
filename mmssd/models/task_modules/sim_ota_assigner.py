"""``SimOTAAssigner``: YOLOX's dynamic-k assignment, for a whole batch at once."""
from __future__ import annotations

import torch
from torch import Tensor

from mmssd.registry import TASK_UTILS
from mmssd.structures.bbox import bbox_overlaps

from .assign_result import AssignResult

#: mmdetection's cost of a prior outside a ground truth's box or centre region.
INF = 100000.0


def _bce_terms(scores: Tensor) -> tuple[Tensor, Tensor]:
    """``-log(s)`` and ``-log(1 - s)`` with logs clamped at -100 (``F.binary_cross_entropy``)."""
    return -scores.log().clamp(min=-100), -(1 - scores).log().clamp(min=-100)


@TASK_UTILS.register_module()
class SimOTAAssigner:
    """SimOTA (YOLOX; mmdetection 2.x ``SimOTAAssigner``), batched.

    For image ``b``, a prior (centre ``(x, y)``, stride ``s``) is a candidate of ground
    truth ``g`` when its centre lies inside the box, or inside the square of half side
    ``center_radius * s`` around the box centre; priors that are a candidate of no ground
    truth take no part. The cost of a candidate pair is ``cls_weight * BCE(sqrt(p),
    onehot(label))`` summed over classes + ``iou_weight * -log(IoU + eps)`` + ``INF``
    unless the centre lies in both the box and the centre square. Each ground truth takes
    its ``k`` cheapest priors, ``k = max(1, int(sum of its candidate_topk best IoUs))``;
    a prior taken by several keeps the cheapest. Everything runs on ``(B, N, G)`` tensors
    for the whole batch (``G`` the largest ground-truth count, padding masked), with no
    loop over images; the result is mmdetection's per-image algorithm
    (``tests/models/task_modules/test_sim_ota_assigner.py``), up to the order of exactly
    equal costs.

    Args:
        center_radius: half side of the centre square, in strides.
        candidate_topk: IoUs summed for the dynamic ``k``.
        iou_weight, cls_weight: weights of the two costs.
    """

    def __init__(self, center_radius: float = 2.5, candidate_topk: int = 10,
                 iou_weight: float = 3.0, cls_weight: float = 1.0) -> None:
        self.center_radius = center_radius
        self.candidate_topk = candidate_topk
        self.iou_weight = iou_weight
        self.cls_weight = cls_weight

    def candidates(self, priors: Tensor, gt_bboxes: Tensor,
                   gt_valid: Tensor) -> tuple[Tensor, Tensor]:
        """``valid (B, N)``: priors inside some box or centre square; ``in_both (B, N, G)``:
        centre inside box ``g`` and its centre square.

        Args:
            priors: ``(N, 4)`` ``[x, y, stride_w, stride_h]``.
            gt_bboxes: ``(B, G, 4)``; gt_valid: ``(B, G)``.
        """
        x, y = priors[None, :, 0, None], priors[None, :, 1, None]  # (1, N, 1)
        sx, sy = priors[None, :, 2, None], priors[None, :, 3, None]
        gt = gt_bboxes[:, None]  # (B, 1, G, 4)
        # x - x1 > 0 and x > x1 are the same test for finite floats (mmdetection takes the
        # minimum of the four differences)
        in_box = (x > gt[..., 0]) & (y > gt[..., 1]) & (gt[..., 2] > x) & (gt[..., 3] > y)
        cx, cy = (gt[..., 0] + gt[..., 2]) / 2.0, (gt[..., 1] + gt[..., 3]) / 2.0
        r = self.center_radius
        in_center = ((x > cx - r * sx) & (y > cy - r * sy) & (cx + r * sx > x)
                     & (cy + r * sy > y))
        in_box &= gt_valid[:, None]
        in_center &= gt_valid[:, None]
        return (in_box | in_center).any(-1), in_box & in_center

    def cost_matrix(self, pred_scores: Tensor, decoded_bboxes: Tensor, gt_bboxes: Tensor,
                    gt_labels: Tensor, in_both: Tensor, valid: Tensor,
                    eps: float = 1e-7) -> tuple[Tensor, Tensor]:
        """``cost (B, N, G)`` and ``ious (B, N, G)``; the classification cost is computed
        for the ``valid (B, N)`` priors only (0 elsewhere: the caller masks them)."""
        ious = bbox_overlaps(decoded_bboxes, gt_bboxes)  # (B, N, G)
        b_idx, n_idx = valid.nonzero(as_tuple=True)  # the candidate priors of the batch
        pos, neg = _bce_terms(pred_scores[b_idx, n_idx].float().sqrt())  # (V, C)
        labels = gt_labels.clamp(min=0)[b_idx]  # (V, G)
        # BCE against the one-hot label: every class's negative term, the label's positive
        valid_cost = (neg.sum(-1, keepdim=True) - neg.gather(1, labels)
                      + pos.gather(1, labels))  # (V, G)
        cls_cost = ious.new_zeros(ious.shape)
        cls_cost[b_idx, n_idx] = valid_cost
        cost = (cls_cost * self.cls_weight - torch.log(ious + eps) * self.iou_weight
                + (~in_both) * INF)
        return cost, ious

    def assign_batched(self, pred_scores: Tensor, priors: Tensor, decoded_bboxes: Tensor,
                       gt_bboxes: Tensor, gt_labels: Tensor, gt_valid: Tensor) -> AssignResult:
        """Assign the priors of ``B`` images to their padded ground truths.

        Args:
            pred_scores: ``(B, N, C)`` class probabilities (YOLOX: class x objectness).
            priors: ``(N, 4)`` ``[x, y, stride_w, stride_h]`` (cell centres).
            decoded_bboxes: ``(B, N, 4)`` predicted boxes.
            gt_bboxes: ``(B, G, 4)``; gt_labels: ``(B, G)`` long; gt_valid: ``(B, G)`` bool.

        Returns:
            :class:`AssignResult` with ``(B, N)`` ``gt_inds`` (0 background, ``g + 1``),
            ``max_overlaps`` (the matched IoU, 0 elsewhere) and ``labels`` (-1 elsewhere).
        """
        batch, num_priors = decoded_bboxes.shape[:2]
        num_gts = gt_valid.sum(1)
        if gt_bboxes.size(1) == 0 or num_priors == 0:
            zeros = decoded_bboxes.new_zeros((batch, num_priors), dtype=torch.long)
            return AssignResult(num_gts, zeros, decoded_bboxes.new_zeros((batch, num_priors)),
                                zeros - 1)
        valid, in_both = self.candidates(priors, gt_bboxes.float(), gt_valid)
        cost, ious = self.cost_matrix(pred_scores, decoded_bboxes.float(), gt_bboxes.float(),
                                      gt_labels, in_both, valid)
        pair = valid[:, :, None] & gt_valid[:, None, :]  # (B, N, G)
        ious = ious.masked_fill(~pair, 0)
        cost = cost.masked_fill(~pair, float('inf'))
        # dynamic k of each ground truth, from its best candidate IoUs
        topk = min(self.candidate_topk, num_priors)
        dynamic_ks = ious.topk(topk, dim=1).values.sum(1).int().clamp(min=1)  # (B, G)
        dynamic_ks = dynamic_ks * gt_valid
        k_max = max(int(dynamic_ks.max()), 1)
        costs_k, idx_k = cost.transpose(1, 2).topk(k_max, dim=2, largest=False)  # (B, G, k)
        rank = torch.arange(k_max, device=cost.device)
        take = (rank < dynamic_ks[..., None]) & torch.isfinite(costs_k)
        matching = torch.zeros((batch, gt_bboxes.size(1), num_priors), dtype=torch.bool,
                               device=cost.device)
        matching.scatter_(2, idx_k, take)  # a prior appears at most once per ground truth
        matching = matching.transpose(1, 2)  # (B, N, G)
        count = matching.sum(-1)
        # a prior taken by several ground truths keeps the cheapest
        matched = torch.where(count > 1, cost.argmin(-1), matching.int().argmax(-1))
        fg = count > 0
        gt_inds = torch.where(fg, matched + 1, 0)
        overlaps = torch.where(fg, ious.gather(2, matched[..., None])[..., 0], 0.0)
        labels = torch.where(fg, gt_labels.gather(1, matched), -1)
        return AssignResult(num_gts, gt_inds, overlaps, labels)

    def assign(self, pred_scores: Tensor, priors: Tensor, decoded_bboxes: Tensor,
               gt_bboxes: Tensor, gt_labels: Tensor,
               gt_bboxes_ignore: Tensor | None = None) -> AssignResult:
        """One image (mmdetection's signature): :meth:`assign_batched` on a batch of one;
        ``(N,)`` fields."""
        result = self.assign_batched(
            pred_scores[None], priors, decoded_bboxes[None], gt_bboxes[None],
            gt_labels[None], torch.ones((1, gt_bboxes.size(0)), dtype=torch.bool,
                                        device=gt_bboxes.device))
        return result.of_image(0, gt_bboxes.size(0))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(center_radius={self.center_radius}, '
                f'candidate_topk={self.candidate_topk}, iou_weight={self.iou_weight}, '
                f'cls_weight={self.cls_weight})')
