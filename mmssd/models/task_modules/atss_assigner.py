"""mmdetection's ``ATSSAssigner`` (Zhang et al. 2020), computed for a whole batch at once.

Adaptive training sample selection: each ground truth takes, on every pyramid level, the
``topk`` priors whose centres lie closest to its centre as candidates; its IoU threshold is
the mean plus the (unbiased) standard deviation of the candidates' IoUs; candidates at or
above that threshold whose centre lies inside the ground truth become its positives; a
prior claimed by several ground truths goes to the one it overlaps most. Every other prior
is negative (or ignored, near an ignored box).

Shapes: ``B`` images, ``G`` ground truths per image after padding, ``T`` valid ground
truths of the whole batch, ``N`` priors shared by the images (``N_l`` on level ``l``),
``K = sum_l min(topk, N_l)`` candidates per ground truth.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from mmssd.registry import TASK_UTILS

from ..utils.cfg_keys import build_checked
from .assign_result import AssignResult

#: A prior's centre must lie this far (pixels) inside a ground truth to be its positive.
INSIDE_EPS = 0.01


def centers(bboxes: Tensor) -> Tensor:
    """Box centres ``(..., 2)`` of ``[x1, y1, x2, y2]`` boxes ``(..., 4)``."""
    return torch.stack([(bboxes[..., 0] + bboxes[..., 2]) / 2.0,
                        (bboxes[..., 1] + bboxes[..., 3]) / 2.0], dim=-1)


def nearest(sq_dist: Tensor, k: int) -> Tensor:
    """Indices ``(T, k)`` of the ``k`` smallest distances ``sqrt(sq_dist)`` of each row of
    ``sq_dist (T, n)`` (squared distances, non-negative or infinite), the lower index first
    among equal distances (``torch.topk`` leaves that order open).

    The top-k runs on the squared distances (same order, no square root of the whole
    matrix); a row whose ``k``-th and ``k+1``-th distances are equal (after the square
    root, as mmdetection compares them) is resolved by a top-k over int64 keys
    ``float bits << b | index`` (non-negative floats order as their bits).
    """
    if k >= sq_dist.size(1):
        return torch.arange(sq_dist.size(1), device=sq_dist.device).expand(sq_dist.size(0), -1)
    values, inds = sq_dist.topk(k + 1, dim=1, largest=False, sorted=True)
    inds = inds[:, :k]
    tied = (values[:, k - 1].sqrt() == values[:, k].sqrt()).nonzero(as_tuple=True)[0]
    if tied.numel():
        shift = max(int(sq_dist.size(1) - 1).bit_length(), 1)
        keys = (sq_dist[tied].sqrt().view(torch.int32).long() << shift) | torch.arange(
            sq_dist.size(1), device=sq_dist.device)
        inds = inds.index_put((tied,), keys.topk(k, dim=1, largest=False).values
                              & ((1 << shift) - 1))
    return inds


@TASK_UTILS.register_module()
class ATSSAssigner:
    """Assign priors by adaptive training sample selection (mmdetection 2.x semantics).

    ``gt_inds`` per prior: ``0`` negative, ``-1`` ignored, ``i + 1`` ground truth ``i``.
    The candidates of a ground truth on a level are its ``min(topk, N_l)`` nearest priors
    (Euclidean distance of the centres); among priors at the same distance the lower
    index is taken (mmdetection leaves that order to ``torch.topk``). A prior positive for
    several ground truths takes the one of highest IoU, the lowest index on ties (as
    ``torch.max``).

    Args:
        topk: candidates per level and ground truth.
        iou_calculator: config of the overlap calculator (default ``BboxOverlaps2D``).
        ignore_iof_thr: priors whose IoF (over the prior's area) with an ignored box
            exceeds this are ignored and not chosen as candidates (``-1`` disables).
    """

    #: :class:`~mmssd.models.dense_heads.AnchorHead` passes ``num_level_bboxes``.
    needs_level_sizes = True

    def __init__(self, topk: int, iou_calculator: dict | None = None,
                 ignore_iof_thr: float = -1) -> None:
        if not isinstance(topk, int) or topk < 1:
            raise ValueError(f'ATSSAssigner: topk must be a positive int, got {topk!r}')
        self.topk = topk
        self.ignore_iof_thr = ignore_iof_thr
        self.iou_calculator = build_checked(
            TASK_UTILS, iou_calculator or {'type': 'BboxOverlaps2D'}, 'iou_calculator')

    def assign(self, bboxes: Tensor, num_level_bboxes: Sequence[int], gt_bboxes: Tensor,
               gt_bboxes_ignore: Tensor | None = None,
               gt_labels: Tensor | None = None) -> AssignResult:
        """Assign the priors ``bboxes (N, 4)`` of one image (mmdetection's signature):
        one image of :meth:`assign_batched`; ``(N,)`` fields."""
        batch = self.assign_batched(
            bboxes, gt_bboxes[None],
            gt_bboxes.new_ones((1, gt_bboxes.size(0)), dtype=torch.bool),
            None if gt_labels is None else gt_labels[None],
            None if gt_bboxes_ignore is None else gt_bboxes_ignore[None],
            num_level_bboxes=num_level_bboxes)
        return batch.of_image(0, gt_bboxes.size(0))

    def assign_batched(self, bboxes: Tensor, gt_bboxes: Tensor, gt_valid: Tensor,
                       gt_labels: Tensor | None = None,
                       gt_bboxes_ignore: Tensor | None = None,
                       ignore_valid: Tensor | None = None,
                       prior_valid: Tensor | None = None,
                       num_level_bboxes: Sequence[int] | None = None) -> AssignResult:
        """Assign the same priors to the padded ground truths of ``B`` images.

        Distances are computed for the ``T`` valid ground truths of the batch against the
        priors of one level at a time, ``(T, N_l)``; IoUs only for the ``(T, K)``
        candidates; the per-prior choice among ground truths is a scatter reduction.

        Args:
            bboxes: priors ``(N, 4)`` shared by the images, level after level.
            gt_bboxes: ``(B, G, 4)`` ground truths padded to ``G`` per image.
            gt_valid: ``(B, G)`` bool, False at padding.
            gt_labels: ``(B, G)`` long labels, or None.
            gt_bboxes_ignore: ``(B, M, 4)`` ignored boxes padded to ``M``, or None.
            ignore_valid: ``(B, M)`` bool, False at padding (all True when None).
            prior_valid: must be None: ATSS assigns every prior
                (``train_cfg.allowed_border=-1``).
            num_level_bboxes: ``N_l`` of each level (required; they sum to ``N``).

        Returns:
            :class:`AssignResult` with ``(B, N)`` fields (``max_overlaps``: a positive's
            IoU with its ground truth, 0 elsewhere) and ``num_gts`` a ``(B,)`` tensor.
        """
        if prior_valid is not None:
            raise ValueError('ATSSAssigner assigns every prior: set train_cfg.allowed_border'
                             '=-1 (got a prior_valid mask)')
        num_images, num_bboxes = gt_valid.size(0), bboxes.size(0)
        if num_level_bboxes is None or sum(num_level_bboxes) != num_bboxes:
            raise ValueError(f'ATSSAssigner: num_level_bboxes {num_level_bboxes} must sum to '
                             f'the {num_bboxes} priors')
        num_gts = gt_valid.sum(dim=1)
        gt_inds = bboxes.new_zeros((num_images, num_bboxes), dtype=torch.long)
        max_overlaps = bboxes.new_zeros((num_images, num_bboxes))
        image_of_gt, index_in_image = gt_valid.nonzero(as_tuple=True)  # (T,), image-major
        ignored = self._ignored_priors(bboxes, gt_bboxes_ignore, ignore_valid, num_images)
        if image_of_gt.numel() and num_bboxes:
            gts = gt_bboxes[image_of_gt, index_in_image]  # (T, 4)
            cand = self._candidates(bboxes, gts, num_level_bboxes,
                                    None if ignored is None else ignored[image_of_gt])
            cand_overlaps = self.iou_calculator(gts[:, None, :], bboxes[cand])[:, 0]  # (T, K)
            threshold = cand_overlaps.mean(dim=1) + cand_overlaps.std(dim=1)
            cand_centers = centers(bboxes)[cand]  # (T, K, 2)
            offsets = torch.cat([cand_centers - gts[:, None, :2],
                                 gts[:, None, 2:] - cand_centers], dim=-1)
            is_pos = ((cand_overlaps >= threshold[:, None])
                      & (offsets.amin(dim=-1) > INSIDE_EPS))
            rows, cols = is_pos.nonzero(as_tuple=True)
            flat = image_of_gt[rows] * num_bboxes + cand[rows, cols]
            ious = cand_overlaps[rows, cols]
            best = ious.new_full((num_images * num_bboxes,), -1.0).scatter_reduce_(
                0, flat, ious, 'amax')
            is_best = ious == best[flat]
            first = torch.full((num_images * num_bboxes,), torch.iinfo(torch.long).max,
                               dtype=torch.long, device=bboxes.device).scatter_reduce_(
                0, flat[is_best], index_in_image[rows[is_best]] + 1, 'amin')
            if ignored is not None:
                gt_inds = gt_inds.masked_fill(ignored, -1)
            positive = (best >= 0).view(num_images, num_bboxes)
            gt_inds = torch.where(positive, first.view(num_images, num_bboxes), gt_inds)
            max_overlaps = torch.where(positive, best.view(num_images, num_bboxes),
                                       max_overlaps)
        labels = None
        if gt_labels is not None:
            matched = gt_labels.gather(1, (gt_inds - 1).clamp(min=0)) if gt_labels.size(1) \
                else torch.full_like(gt_inds, -1)
            labels = torch.where(gt_inds > 0, matched, torch.full_like(matched, -1))
        return AssignResult(num_gts, gt_inds, max_overlaps, labels)

    def _candidates(self, bboxes: Tensor, gts: Tensor, num_level_bboxes: Sequence[int],
                    ignored: Tensor | None) -> Tensor:
        """``(T, K)`` prior indices: per level each ground truth's ``min(topk, N_l)``
        priors of nearest centre, the lower index first among equal distances.
        ``ignored (T, N)``: priors never taken while others remain (infinite distance)."""
        prior_centers, gt_centers = centers(bboxes), centers(gts)
        out, start = [], 0
        for size in num_level_bboxes:
            if size == 0:
                continue
            level = prior_centers[start:start + size]
            # (T, N_l) squared distances, without (T, N_l, 2) intermediates
            dist = level[None, :, 0] - gt_centers[:, None, 0]
            dist.mul_(dist)
            dy = level[None, :, 1] - gt_centers[:, None, 1]
            dist.add_(dy.mul_(dy))
            if ignored is not None:
                dist.masked_fill_(ignored[:, start:start + size], float('inf'))
            out.append(nearest(dist, min(self.topk, size)) + start)
            start += size
        return torch.cat(out, dim=1)

    def _ignored_priors(self, bboxes: Tensor, gt_bboxes_ignore: Tensor | None,
                        ignore_valid: Tensor | None, num_images: int) -> Tensor | None:
        """``(B, N)`` True at priors whose IoF with an ignored box exceeds ``ignore_iof_thr``
        (None: no such prior)."""
        if (self.ignore_iof_thr <= 0 or gt_bboxes_ignore is None
                or gt_bboxes_ignore.numel() == 0 or bboxes.numel() == 0):
            return None
        if ignore_valid is None:
            ignore_valid = gt_bboxes_ignore.new_ones(gt_bboxes_ignore.shape[:2], dtype=torch.bool)
        iofs = self.iou_calculator(bboxes, gt_bboxes_ignore, mode='iof')  # (B, N, M)
        iofs = iofs.masked_fill(~ignore_valid[:, None, :], -1)
        return iofs.amax(dim=2) > self.ignore_iof_thr

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(topk={self.topk}, '
                f'ignore_iof_thr={self.ignore_iof_thr})')
