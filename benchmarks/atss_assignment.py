"""ATSS target assignment of a batch: ``ATSSAssigner.assign_batched`` (one set of tensor ops
for the whole batch) vs. a per-image reference (mmdetection 2.x's algorithm, one image at a
time: the full ``(N, G)`` IoU and centre-distance matrices, a per-level ``torch.topk``,
mean + std threshold, centre-inside check, argmax over the ground truths).

Part of ``bench_target_assignment.py`` (``--parts atss``); shapes: ``N`` ATSS anchors (one
per location, strides 8..128), ``G`` ground truths of an image.
"""
from __future__ import annotations

import statistics
import time

import torch

from mmssd.models.task_modules import AnchorGenerator, ATSSAssigner
from mmssd.models.utils import pad_instances
from mmssd.structures.bbox import bbox_overlaps

INF = 100000000.0


def atss_anchors(height: int, width: int) -> tuple[torch.Tensor, list[int]]:
    """ATSS's anchors (one per location, side 8 x stride) of a ``height x width`` input."""
    gen = AnchorGenerator(strides=[8, 16, 32, 64, 128], ratios=[1.0], octave_base_scale=8,
                          scales_per_octave=1)
    sizes = [((height + s - 1) // s, (width + s - 1) // s) for s, _ in gen.strides]
    levels = gen.grid_priors(sizes)
    return torch.cat(levels), [len(level) for level in levels]


def random_gts(num_images: int, height: int, width: int, seed: int = 0) -> list[torch.Tensor]:
    """Per image 1 to 50 boxes ``(G, 4)`` inside the image, sides 8 px to half the image."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(num_images):
        n = int(torch.randint(1, 51, (1,), generator=g))
        wh = 8 + torch.rand(n, 2, generator=g) * torch.tensor([width / 2, height / 2])
        xy = torch.rand(n, 2, generator=g) * (torch.tensor([width, height]) - wh)
        out.append(torch.cat([xy, xy + wh], 1))
    return out


def per_image_assign(anchors: torch.Tensor, level_sizes: list[int], gts: torch.Tensor,
                     topk: int = 9) -> torch.Tensor:
    """mmdetection 2.x's ``ATSSAssigner.assign`` for one image: ``gt_inds (N,)``."""
    num_gt, num_bboxes = gts.size(0), anchors.size(0)
    overlaps = bbox_overlaps(anchors, gts)  # (N, G)
    anchor_c = torch.stack([(anchors[:, 0] + anchors[:, 2]) / 2,
                            (anchors[:, 1] + anchors[:, 3]) / 2], 1)
    gt_c = torch.stack([(gts[:, 0] + gts[:, 2]) / 2, (gts[:, 1] + gts[:, 3]) / 2], 1)
    distances = (anchor_c[:, None, :] - gt_c[None, :, :]).pow(2).sum(-1).sqrt()
    candidates, start = [], 0
    for size in level_sizes:
        k = min(topk, size)
        _, idx = distances[start:start + size].topk(k, dim=0, largest=False)
        candidates.append(idx + start)
        start += size
    candidates = torch.cat(candidates, 0)  # (K, G)
    cand_overlaps = overlaps[candidates, torch.arange(num_gt)]
    threshold = cand_overlaps.mean(0) + cand_overlaps.std(0)
    is_pos = cand_overlaps >= threshold[None, :]
    cx, cy = anchor_c[candidates, 0], anchor_c[candidates, 1]
    inside = torch.stack([cx - gts[:, 0], cy - gts[:, 1], gts[:, 2] - cx, gts[:, 3] - cy],
                         1).min(1).values > 0.01
    is_pos &= inside
    flat = (candidates + torch.arange(num_gt) * num_bboxes).view(-1)[is_pos.view(-1)]
    overlaps_inf = torch.full((num_gt * num_bboxes,), -INF)
    overlaps_inf[flat] = overlaps.t().reshape(-1)[flat]
    max_overlaps, argmax = overlaps_inf.view(num_gt, -1).t().max(dim=1)
    gt_inds = torch.zeros(num_bboxes, dtype=torch.long)
    pos = max_overlaps != -INF
    gt_inds[pos] = argmax[pos] + 1
    return gt_inds


def bench_atss(repeats: int, num_images: int = 16,
               shapes: tuple[tuple[int, int], ...] = ((320, 320), (800, 1216))) -> None:
    """Time and compare both on the same batch for each input shape; print the medians."""
    assigner = ATSSAssigner(topk=9)
    for height, width in shapes:
        anchors, sizes = atss_anchors(height, width)
        gts_list = random_gts(num_images, height, width)
        gts, valid = pad_instances(gts_list)
        batched_times, loop_times = [], []
        for i in range(repeats + 1):  # interleaved; the first (warm-up) is not counted
            start = time.perf_counter()
            batched = assigner.assign_batched(anchors, gts, valid, num_level_bboxes=sizes)
            mid = time.perf_counter()
            loop = [per_image_assign(anchors, sizes, g) for g in gts_list]
            end = time.perf_counter()
            if i:
                batched_times.append(mid - start)
                loop_times.append(end - mid)
        same = sum(torch.equal(batched.gt_inds[b], loop[b]) for b in range(num_images))
        t_b, t_l = statistics.median(batched_times), statistics.median(loop_times)
        counts = [len(g) for g in gts_list]
        print(f'ATSS assignment, {num_images} images {height}x{width} ({len(anchors)} anchors),'
              f' gts per image {min(counts)}..{max(counts)} (total {sum(counts)}), '
              f'median of {repeats}')
        print(f'  equal gt_inds in {same}/{num_images} images; positives '
              f'{int((batched.gt_inds > 0).sum())}')
        ratios = sorted(loop / batch for loop, batch in zip(loop_times, batched_times))
        print(f'  (a) batched assign_batched : {t_b * 1e3:8.1f} ms '
              f'(range {min(batched_times) * 1e3:.1f}-{max(batched_times) * 1e3:.1f})')
        print(f'  (b) per-image reference    : {t_l * 1e3:8.1f} ms '
              f'(range {min(loop_times) * 1e3:.1f}-{max(loop_times) * 1e3:.1f})')
        print(f'  speed-up (b) / (a)         : {t_l / t_b:8.2f}x '
              f'(per repeat {ratios[0]:.2f}-{ratios[-1]:.2f}x)')
