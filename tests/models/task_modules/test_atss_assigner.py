"""ATSSAssigner's batched assignment equals a per-image, per-ground-truth reference written
here (torchvision's IoU, a stable sort for the nearest candidates, a loop over ground truths
and candidates): random batches, distance ties, ground truths with no candidate inside,
empty images, images of different sizes in one padded batch, ignored boxes."""
from __future__ import annotations

import pytest
import torch
from torchvision.ops import box_iou

from mmssd.models.task_modules import AnchorGenerator, ATSSAssigner
from mmssd.models.utils import pad_instances


def reference_assign(bboxes: torch.Tensor, level_sizes: list[int], gts: torch.Tensor,
                     labels: torch.Tensor, topk: int, ignore: torch.Tensor | None = None,
                     iof_thr: float = -1) -> tuple[torch.Tensor, torch.Tensor]:
    """One image, one ground truth at a time: ``(gt_inds (N,), labels (N,))``."""
    num = bboxes.size(0)
    cx, cy = (bboxes[:, 0] + bboxes[:, 2]) / 2, (bboxes[:, 1] + bboxes[:, 3]) / 2
    ignored = torch.zeros(num, dtype=torch.bool)
    if ignore is not None and iof_thr > 0 and len(ignore):
        for box in ignore:
            w = (torch.min(bboxes[:, 2], box[2]) - torch.max(bboxes[:, 0], box[0])).clamp(min=0)
            h = (torch.min(bboxes[:, 3], box[3]) - torch.max(bboxes[:, 1], box[1])).clamp(min=0)
            area = (bboxes[:, 2] - bboxes[:, 0]) * (bboxes[:, 3] - bboxes[:, 1])
            ignored |= w * h / area > iof_thr
    best_iou = torch.full((num,), -1.0)
    gt_inds = torch.zeros(num, dtype=torch.long)
    for g, gt in enumerate(gts):
        gcx, gcy = (gt[0] + gt[2]) / 2, (gt[1] + gt[3]) / 2
        candidates, start = [], 0
        for size in level_sizes:
            sl = slice(start, start + size)
            dist = torch.stack([cx[sl] - gcx, cy[sl] - gcy], -1).pow(2).sum(-1).sqrt()
            dist[ignored[sl]] = float('inf')
            candidates.append(torch.sort(dist, stable=True).indices[:min(topk, size)] + start)
            start += size
        candidates = torch.cat(candidates)
        ious = box_iou(gt[None], bboxes[candidates])[0]
        threshold = ious.mean() + ious.std()
        for iou, a in zip(ious.tolist(), candidates.tolist()):
            inside = min(cx[a] - gt[0], cy[a] - gt[1], gt[2] - cx[a], gt[3] - cy[a]) > 0.01
            if iou >= threshold and inside and iou > best_iou[a]:
                best_iou[a], gt_inds[a] = iou, g + 1
    gt_inds[ignored & (gt_inds == 0)] = -1
    out_labels = torch.where(gt_inds > 0, labels[(gt_inds - 1).clamp(min=0)] if len(labels)
                             else gt_inds, torch.full_like(gt_inds, -1))
    return gt_inds, out_labels


def anchors_for(height: int, width: int) -> tuple[torch.Tensor, list[int]]:
    """ATSS's anchors (one per location, side 8 x stride) of a padded batch."""
    gen = AnchorGenerator(strides=[8, 16, 32, 64, 128], ratios=[1.0], octave_base_scale=8,
                          scales_per_octave=1)
    sizes = [((height + s[1] - 1) // s[1], (width + s[0] - 1) // s[0]) for s in gen.strides]
    levels = gen.grid_priors(sizes)
    return torch.cat(levels), [len(level) for level in levels]


def random_gts(generator: torch.Generator, count: int, h: int, w: int) -> torch.Tensor:
    xy = torch.rand(count, 2, generator=generator) * torch.tensor([w * 0.8, h * 0.8])
    wh = 4 + torch.rand(count, 2, generator=generator) * torch.tensor([w * 0.5, h * 0.5])
    return torch.cat([xy, torch.min(xy + wh, torch.tensor([w, h]))], 1)


def check_batch(bboxes, level_sizes, gts_list, topk=9, ignore_list=None, iof_thr=-1.0) -> None:
    labels_list = [torch.arange(len(g)) % 3 for g in gts_list]
    gts, valid = pad_instances(gts_list)
    labels, _ = pad_instances(labels_list, pad_value=-1)
    ignore = ignore_valid = None
    if ignore_list is not None:
        ignore, ignore_valid = pad_instances(ignore_list)
    assigner = ATSSAssigner(topk=topk, ignore_iof_thr=iof_thr)
    result = assigner.assign_batched(bboxes, gts, valid, labels, ignore, ignore_valid,
                                     num_level_bboxes=level_sizes)
    for b, (g, lb) in enumerate(zip(gts_list, labels_list)):
        ref_inds, ref_labels = reference_assign(
            bboxes, level_sizes, g, lb, topk, None if ignore_list is None else ignore_list[b],
            iof_thr)
        assert torch.equal(result.gt_inds[b], ref_inds), b
        assert torch.equal(result.labels[b], ref_labels), b
    assert result.num_gts.tolist() == [len(g) for g in gts_list]


def test_random_padded_batch_of_different_image_sizes() -> None:
    """Images of 96x128, 64x80 and 40x128 padded to 96x128 (small top levels: fewer than
    topk priors), 0 to 12 ground truths, one image without any."""
    generator = torch.Generator().manual_seed(0)
    bboxes, level_sizes = anchors_for(96, 128)
    shapes = [(96, 128), (64, 80), (40, 128), (96, 100)]
    counts = [12, 0, 5, 1]
    gts_list = [random_gts(generator, n, h, w) for n, (h, w) in zip(counts, shapes)]
    check_batch(bboxes, level_sizes, gts_list)
    result = ATSSAssigner(topk=9).assign_batched(
        bboxes, *pad_instances(gts_list), num_level_bboxes=level_sizes)
    assert (result.gt_inds > 0).sum() > 10  # the comparison covers real positives
    assert (result.gt_inds[1] == 0).all()


def test_distance_ties_and_equal_ground_truths() -> None:
    """Ground-truth centres halfway between prior centres (equal distances at the topk
    boundary), two identical ground truths (equal IoUs: the first wins), and a 2-pixel
    ground truth between prior centres (no candidate inside: no positive)."""
    bboxes, level_sizes = anchors_for(64, 64)
    gts = torch.tensor([[4., 4., 36., 36.], [12., 20., 60., 44.], [12., 20., 60., 44.],
                        [9., 9., 11., 11.], [0., 0., 64., 64.]])
    check_batch(bboxes, level_sizes, [gts, gts[:1]], topk=9)
    result = ATSSAssigner(topk=9).assign(bboxes, level_sizes, gts,
                                         gt_labels=torch.arange(5))
    assert not (result.gt_inds == 3).any()  # the duplicate never wins
    assert not (result.gt_inds == 4).any()  # no candidate inside the tiny box


def test_ignored_boxes_and_empty_batch() -> None:
    generator = torch.Generator().manual_seed(1)
    bboxes, level_sizes = anchors_for(64, 96)
    gts_list = [random_gts(generator, 6, 64, 96), random_gts(generator, 3, 64, 96)]
    ignore_list = [torch.tensor([[0., 0., 40., 40.]]), torch.zeros((0, 4))]
    check_batch(bboxes, level_sizes, gts_list, ignore_list=ignore_list, iof_thr=0.5)
    empty = ATSSAssigner(topk=9).assign_batched(
        bboxes, torch.zeros((2, 0, 4)), torch.zeros((2, 0), dtype=torch.bool),
        torch.zeros((2, 0), dtype=torch.long), num_level_bboxes=level_sizes)
    assert (empty.gt_inds == 0).all() and (empty.labels == -1).all()


def test_bad_arguments_are_refused() -> None:
    bboxes, level_sizes = anchors_for(32, 32)
    with pytest.raises(ValueError, match='allowed_border'):
        ATSSAssigner(topk=9).assign_batched(
            bboxes, torch.zeros((1, 1, 4)), torch.ones((1, 1), dtype=torch.bool),
            prior_valid=torch.ones((1, len(bboxes)), dtype=torch.bool),
            num_level_bboxes=level_sizes)
    with pytest.raises(ValueError, match='num_level_bboxes'):
        ATSSAssigner(topk=9).assign_batched(bboxes, torch.zeros((1, 1, 4)),
                                            torch.ones((1, 1), dtype=torch.bool))
    with pytest.raises(ValueError, match='topk'):
        ATSSAssigner(topk=0)
