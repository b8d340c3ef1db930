"""mmdetection's ``MaxIoUAssigner``, computed for a whole batch of images at once."""
from __future__ import annotations

import torch
from torch import Tensor

from mmssd.registry import TASK_UTILS

from ..utils.cfg_keys import build_checked
from .assign_result import AssignResult


@TASK_UTILS.register_module()
class MaxIoUAssigner:
    """Assign each prior to the ground truth it overlaps most (mmdetection 2.x semantics).

    Each prior gets ``-1`` (ignored), ``0`` (negative) or ``i + 1`` (ground truth ``i``):

    1. every prior starts at ``-1``;
    2. priors whose max IoU is in ``[0, neg_iou_thr)`` (or inside the tuple range) become 0;
    3. priors whose max IoU is ``>= pos_iou_thr`` get their best ground truth;
    4. with ``match_low_quality``, each ground truth whose best IoU is ``>= min_pos_iou``
       claims its best prior (all of its equally best priors with ``gt_max_assign_all``);
       a later ground truth wins over an earlier one at the same prior.

    Args:
        pos_iou_thr: IoU threshold of positives.
        neg_iou_thr: IoU threshold (or ``(low, high)`` range) of negatives.
        min_pos_iou: least IoU of a low-quality match.
        gt_max_assign_all: give a ground truth every prior tied at its best IoU.
        ignore_iof_thr: priors whose IoF with an ignored box exceeds this are ignored
            (``-1`` disables).
        ignore_wrt_candidates: compute that IoF over the prior's area (True) or the
            ignored box's area (False).
        match_low_quality: do step 4.
        iou_calculator: config of the overlap calculator.
    """

    def __init__(self, pos_iou_thr: float, neg_iou_thr: float | tuple[float, float],
                 min_pos_iou: float = .0, gt_max_assign_all: bool = True,
                 ignore_iof_thr: float = -1, ignore_wrt_candidates: bool = True,
                 match_low_quality: bool = True,
                 iou_calculator: dict | None = None) -> None:
        self.pos_iou_thr = pos_iou_thr
        self.neg_iou_thr = neg_iou_thr
        self.min_pos_iou = min_pos_iou
        self.gt_max_assign_all = gt_max_assign_all
        self.ignore_iof_thr = ignore_iof_thr
        self.ignore_wrt_candidates = ignore_wrt_candidates
        self.match_low_quality = match_low_quality
        self.iou_calculator = build_checked(
            TASK_UTILS, iou_calculator or {'type': 'BboxOverlaps2D'}, 'iou_calculator')

    def assign(self, bboxes: Tensor, gt_bboxes: Tensor, gt_bboxes_ignore: Tensor | None = None,
               gt_labels: Tensor | None = None) -> AssignResult:
        """Assign priors ``bboxes (N, 4)`` of one image to ``gt_bboxes (G, 4)``: the RoI
        heads' per-image proposals (:func:`~mmssd.models.roi_heads.standard_roi_head.
        assign_and_sample`); one image of :meth:`assign_batched`.

        Returns an :class:`AssignResult` with ``(N,)`` fields.
        """
        batch = self.assign_batched(
            bboxes, gt_bboxes[None], gt_bboxes.new_ones((1, gt_bboxes.size(0)), dtype=torch.bool),
            None if gt_labels is None else gt_labels[None],
            None if gt_bboxes_ignore is None else gt_bboxes_ignore[None])
        return batch.of_image(0, gt_bboxes.size(0))

    def assign_batched(self, bboxes: Tensor, gt_bboxes: Tensor, gt_valid: Tensor,
                       gt_labels: Tensor | None = None,
                       gt_bboxes_ignore: Tensor | None = None,
                       ignore_valid: Tensor | None = None,
                       prior_valid: Tensor | None = None) -> AssignResult:
        """Assign the same priors to the padded ground truths of ``B`` images.

        The overlaps are computed once, for the ``T`` valid ground truths of the whole batch
        against the priors, ``(T, N)``: padding rows are never computed (padding every image
        to the largest count doubles the work of a typical batch, and these matrices are
        memory-bound on CPU). Per-image maxima are scatter reductions over that matrix; an
        argmax is needed only where an IoU reaches ``pos_iou_thr``, so it is taken over
        those few pairs alone.

        Args:
            bboxes: priors ``(N, 4)`` shared by the images.
            gt_bboxes: ``(B, G, 4)`` ground truths padded to ``G`` per image.
            gt_valid: ``(B, G)`` bool, False at padding.
            gt_labels: ``(B, G)`` long labels, or None.
            gt_bboxes_ignore: ``(B, M, 4)`` ignored boxes padded to ``M``, or None.
            ignore_valid: ``(B, M)`` bool, False at padding (all True when None).
            prior_valid: ``(B, N)`` bool, the priors each image may use (all when None).
                An image's other priors take no part, as mmdetection 2.x's anchor heads
                assign only the anchors inside ``inside_flags``: they are never positive,
                negative, nor claimed by a low-quality match (``gt_inds`` -1,
                ``max_overlaps`` -1), and a ground truth's best prior is sought among the
                valid ones only.

        Returns:
            :class:`AssignResult` with ``(B, N)`` fields and ``num_gts`` a ``(B,)`` tensor.
        """
        if bboxes.dim() != 2:
            raise ValueError('assign_batched: the priors must be one (N, 4) tensor shared '
                             f'by the images, got shape {tuple(bboxes.shape)}')
        num_images, num_bboxes = gt_valid.size(0), bboxes.size(0)
        if prior_valid is not None and tuple(prior_valid.shape) != (num_images, num_bboxes):
            raise ValueError(f'assign_batched: prior_valid must have shape (B, N) = '
                             f'{(num_images, num_bboxes)}, got {tuple(prior_valid.shape)}')
        num_gts = gt_valid.sum(dim=1)
        image_of_gt, index_in_image = gt_valid.nonzero(as_tuple=True)  # (T,), image-major
        if image_of_gt.numel() == 0 or num_bboxes == 0:  # every prior is background
            gt_inds = bboxes.new_zeros((num_images, num_bboxes), dtype=torch.long)
            labels = None if gt_labels is None else torch.full_like(gt_inds, -1)
            max_overlaps = bboxes.new_zeros(gt_inds.shape)
            if prior_valid is not None:
                gt_inds = gt_inds.masked_fill(~prior_valid, -1)
                max_overlaps = max_overlaps.masked_fill(~prior_valid, -1)
            return AssignResult(num_gts, gt_inds, max_overlaps, labels)

        overlaps = self.iou_calculator(gt_bboxes[image_of_gt, index_in_image], bboxes)
        ignored = self._ignored_priors(bboxes, gt_bboxes_ignore, ignore_valid)
        if prior_valid is not None:
            ignored = ~prior_valid if ignored is None else ignored | ~prior_valid
        if ignored is not None:
            overlaps = overlaps.masked_fill(ignored[image_of_gt], -1)
        gts = _PackedGts(image_of_gt, index_in_image, num_images)
        gt_inds, max_overlaps = self._assign_wrt_overlaps(overlaps, gts)
        has_gts = (num_gts > 0)[:, None]
        gt_inds = torch.where(has_gts, gt_inds, torch.zeros_like(gt_inds))
        max_overlaps = torch.where(has_gts, max_overlaps, torch.zeros_like(max_overlaps))
        if prior_valid is not None:  # images without ground truths: only valid negatives
            gt_inds = gt_inds.masked_fill(~prior_valid, -1)
            max_overlaps = max_overlaps.masked_fill(~prior_valid, -1)
        labels = None
        if gt_labels is not None:
            matched = gt_labels.gather(1, (gt_inds - 1).clamp(min=0))
            labels = torch.where(gt_inds > 0, matched, torch.full_like(matched, -1))
        return AssignResult(num_gts, gt_inds, max_overlaps, labels)

    def _ignored_priors(self, bboxes: Tensor, gt_bboxes_ignore: Tensor | None,
                        ignore_valid: Tensor | None) -> Tensor | None:
        """``(B, N)`` True at priors that overlap an ignored box too much (None: no such)."""
        if (self.ignore_iof_thr <= 0 or gt_bboxes_ignore is None
                or gt_bboxes_ignore.numel() == 0):
            return None
        if ignore_valid is None:
            ignore_valid = gt_bboxes_ignore.new_ones(gt_bboxes_ignore.shape[:2], dtype=torch.bool)
        if self.ignore_wrt_candidates:  # (B, N, M): IoF over the prior's area
            iofs = self.iou_calculator(bboxes, gt_bboxes_ignore, mode='iof')
            iofs = iofs.masked_fill(~ignore_valid[:, None, :], -1)
            ignore_max = iofs.max(dim=2).values
        else:  # (B, M, N): IoF over the ignored box's area
            iofs = self.iou_calculator(gt_bboxes_ignore, bboxes, mode='iof')
            iofs = iofs.masked_fill(~ignore_valid[:, :, None], -1)
            ignore_max = iofs.max(dim=1).values
        return ignore_max > self.ignore_iof_thr

    def _assign_wrt_overlaps(self, overlaps: Tensor, gts: _PackedGts) -> tuple[Tensor, Tensor]:
        """Steps 1-4 on the packed ``overlaps (T, N)``: ``(gt_inds, max_overlaps)``, ``(B, N)``."""
        num_bboxes = overlaps.size(1)
        max_overlaps = overlaps.new_full((gts.num_images, num_bboxes), -1).scatter_reduce_(
            0, gts.image[:, None].expand(-1, num_bboxes), overlaps, 'amax')
        gt_inds = torch.full_like(max_overlaps, -1, dtype=torch.long)
        if isinstance(self.neg_iou_thr, (int, float)):
            neg = (max_overlaps >= 0) & (max_overlaps < self.neg_iou_thr)
        else:
            low, high = self.neg_iou_thr
            neg = (max_overlaps >= low) & (max_overlaps < high)
        gt_inds[neg] = 0
        # argmax over each image's ground truths (the first one on ties, as torch.max), at
        # the pairs that can be positive only
        rows, priors = (overlaps >= self.pos_iou_thr).nonzero(as_tuple=True)
        is_max = overlaps[rows, priors] == max_overlaps[gts.image[rows], priors]
        rows, priors = rows[is_max], priors[is_max]
        first = gts.reduce_at_priors(rows, priors, gts.index[rows] + 1, num_bboxes, 'amin')
        pos = max_overlaps >= self.pos_iou_thr
        gt_inds = torch.where(pos, first, gt_inds)
        if self.match_low_quality:
            gt_inds = self._match_low_quality(gt_inds, overlaps, gts)
        return gt_inds, max_overlaps

    def _match_low_quality(self, gt_inds: Tensor, overlaps: Tensor, gts: _PackedGts) -> Tensor:
        """Let every ground truth claim its best prior(s); the highest index wins ties."""
        gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)  # (T,)
        claims = gt_max_overlaps >= self.min_pos_iou
        if self.gt_max_assign_all:
            rows, priors = ((overlaps == gt_max_overlaps[:, None]) & claims[:, None]).nonzero(
                as_tuple=True)
        else:
            rows = claims.nonzero(as_tuple=True)[0]
            priors = gt_argmax_overlaps[rows]
        winner = gts.reduce_at_priors(rows, priors, gts.index[rows] + 1, overlaps.size(1),
                                      'amax')
        return torch.where(winner > 0, winner, gt_inds)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(pos_iou_thr={self.pos_iou_thr}, '
                f'neg_iou_thr={self.neg_iou_thr}, min_pos_iou={self.min_pos_iou})')


class _PackedGts:
    """Where the rows of a packed ``(T, N)`` overlap matrix come from.

    Attributes:
        image: ``(T,)`` the image of each ground truth.
        index: ``(T,)`` its index among that image's ground truths.
        num_images: ``B``.
    """

    def __init__(self, image: Tensor, index: Tensor, num_images: int) -> None:
        self.image, self.index, self.num_images = image, index, num_images

    def reduce_at_priors(self, rows: Tensor, priors: Tensor, values: Tensor, num_bboxes: int,
                         reduce: str) -> Tensor:
        """``(B, N)``: ``values`` of the pairs ``(rows, priors)`` reduced per (image, prior)
        with ``reduce`` ('amin' or 'amax'); 0 where no pair falls."""
        flat = self.image[rows] * num_bboxes + priors
        fill = torch.iinfo(torch.long).max if reduce == 'amin' else 0
        out = values.new_full((self.num_images * num_bboxes,), fill)
        out.scatter_reduce_(0, flat, values, reduce)
        out = out.view(self.num_images, num_bboxes)
        return out.masked_fill_(out == fill, 0) if reduce == 'amin' else out
