"""SimOTA on a batch: ``SimOTAAssigner.assign_batched`` (one pass of tensor operations for
the whole batch) vs. mmdetection 2.x's per-image algorithm (written out below: a loop
over images and, inside, over ground truths), on YOLOX-S's 640x640 priors (8400 points).

The batch holds 16 images with 0 to 30 ground truths each (log-uniform sizes, one image
without any), predictions around the ground truths plus noise. Both run interleaved,
single-threaded; the best of the repeats is reported, and the run checks that both
assign every prior alike (matched ground truth and IoU).

    python benchmarks/bench_sim_ota.py           # 16 images, best of 5
    python benchmarks/bench_sim_ota.py --quick   # 4 images, 1 repeat (smoke test)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from mmssd.models.task_modules import SimOTAAssigner
from mmssd.models.utils import pad_instances
from mmssd.structures.bbox import bbox_overlaps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_peak import cpu_model  # noqa: E402

INF = 100000.0
NUM_CLASSES = 80


def per_image(scores, priors, decoded, gts, labels, radius=2.5, topk=10):
    """mmdetection 2.x's SimOTA for one image -> (gt_inds (N,), ious (N,))."""
    n, g = decoded.size(0), gts.size(0)
    gt_inds, out_ious = torch.zeros(n, dtype=torch.long), torch.zeros(n)
    if g == 0:
        return gt_inds, out_ious
    x, y, sx, sy = (priors[:, i:i + 1].repeat(1, g) for i in range(4))
    in_gts = torch.stack([x - gts[:, 0], y - gts[:, 1], gts[:, 2] - x, gts[:, 3] - y],
                         1).min(1).values > 0
    cx, cy = (gts[:, 0] + gts[:, 2]) / 2.0, (gts[:, 1] + gts[:, 3]) / 2.0
    in_cts = torch.stack([x - (cx - radius * sx), y - (cy - radius * sy),
                          (cx + radius * sx) - x, (cy + radius * sy) - y], 1).min(1).values > 0
    valid = in_gts.any(1) | in_cts.any(1)
    if valid.sum() == 0:
        return gt_inds, out_ious
    in_both = in_gts[valid] & in_cts[valid]
    ious = bbox_overlaps(decoded[valid], gts)
    onehot = F.one_hot(labels, scores.size(1)).float()[None].repeat(int(valid.sum()), 1, 1)
    p = scores[valid][:, None].repeat(1, g, 1).sqrt()
    cost = (F.binary_cross_entropy(p, onehot, reduction='none').sum(-1)
            - 3.0 * torch.log(ious + 1e-7) + (~in_both) * INF)
    matching = torch.zeros_like(cost, dtype=torch.uint8)
    ks = torch.topk(ious, min(topk, ious.size(0)), dim=0).values.sum(0).int().clamp(min=1)
    for j in range(g):
        matching[torch.topk(cost[:, j], k=int(ks[j]), largest=False).indices, j] = 1
    multi = matching.sum(1) > 1
    if multi.any():
        matching[multi] = 0
        matching[multi, cost[multi].argmin(1)] = 1
    fg = matching.sum(1) > 0
    idx = valid.nonzero()[:, 0][fg]
    gt_inds[idx] = matching[fg].argmax(1) + 1
    out_ious[idx] = (matching * ious).sum(1)[fg]
    return gt_inds, out_ious


def make_batch(num_images: int, seed: int = 0):
    """Priors (N, 4), scores (B, N, C), decoded boxes (B, N, 4), per-image gts and labels."""
    gen = torch.Generator().manual_seed(seed)
    priors = []
    for stride in (8, 16, 32):
        size = 640 // stride
        ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing='ij')
        centre = torch.stack([xs, ys], -1).reshape(-1, 2).float() * stride + stride / 2
        priors.append(torch.cat([centre, torch.full_like(centre, stride)], 1))
    priors = torch.cat(priors)
    gts, labels = [], []
    for b in range(num_images):
        k = 0 if b == 1 else int(torch.randint(1, 31, (1,), generator=gen))
        wh = torch.exp(torch.rand(k, 2, generator=gen) * 4 + 2.5)  # 12..660 px
        xy = torch.rand(k, 2, generator=gen) * 640
        gts.append(torch.cat([xy - wh / 2, xy + wh / 2], 1).clamp(0, 640))
        labels.append(torch.randint(0, NUM_CLASSES, (k,), generator=gen))
    wh = torch.exp(torch.rand(num_images, len(priors), 2, generator=gen) * 3 + 2)
    centres = priors[None, :, :2] + torch.randn(num_images, len(priors), 2, generator=gen) * 8
    decoded = torch.cat([centres - wh / 2, centres + wh / 2], -1)
    scores = torch.rand(num_images, len(priors), NUM_CLASSES, generator=gen) ** 3
    return priors, scores, decoded, gts, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='4 images, 1 repeat')
    parser.add_argument('--images', type=int, default=None, help='default 16')
    parser.add_argument('--repeats', type=int, default=None, help='default 5; best is kept')
    args = parser.parse_args()
    num_images = args.images or (4 if args.quick else 16)
    repeats = args.repeats or (1 if args.quick else 5)
    torch.set_num_threads(1)
    priors, scores, decoded, gts, labels = make_batch(num_images)
    padded, valid = pad_instances(gts)
    padded_labels, _ = pad_instances(labels, pad_value=-1)
    assigner = SimOTAAssigner()

    def batched():
        return assigner.assign_batched(scores, priors, decoded, padded, padded_labels, valid)

    def looped():
        return [per_image(scores[b], priors, decoded[b], gts[b], labels[b])
                for b in range(num_images)]

    batched(), looped()  # warm-up
    best = {'batched': float('inf'), 'per-image': float('inf')}
    with torch.no_grad():
        for _ in range(repeats):
            for name, fn in (('batched', batched), ('per-image', looped)):
                start = time.perf_counter()
                out = fn()
                best[name] = min(best[name], time.perf_counter() - start)
                if name == 'batched':
                    result = out
                else:
                    reference = out
    for b, (inds, ious) in enumerate(reference):
        if not torch.equal(result.gt_inds[b], inds):
            raise AssertionError(f'image {b}: the batched assignment differs')
        torch.testing.assert_close(result.max_overlaps[b], ious)
    counts = [len(g) for g in gts]
    print(f'{cpu_model()}, 1 thread, torch {torch.__version__}')
    print(f'{num_images} images, {len(priors)} priors each, {min(counts)}..{max(counts)} '
          f'ground truths, {NUM_CLASSES} classes; best of {repeats}; identical assignments '
          f'({int((result.gt_inds > 0).sum())} positives)')
    print(f'batched   : {best["batched"] * 1e3:8.1f} ms')
    print(f'per-image : {best["per-image"] * 1e3:8.1f} ms')
    print(f'speed-up  : {best["per-image"] / best["batched"]:.2f}x')


if __name__ == '__main__':
    main()
