"""FCOS point targets: ``FCOSHead.get_targets`` (whole batch) vs a per-image reference.

The FCOS part of ``bench_target_assignment.py`` (``--parts fcos``). The reference is mmdetection
2.x's algorithm, one image at a time: ``(N, G, 4)`` distances from every point to every
ground truth, the inside / centre-region and regress-range masks, ``areas.min`` over the
ground truths; then the per-level split and the concatenation over images. Both run on the
same batch (16 images, 1 to 50 random ground truths each, seeded); the labels must be
equal and the distance targets of the positives equal before any time is printed.
"""
from __future__ import annotations

import statistics
import time

import torch

from mmssd.registry import MODELS

NUM_CLASSES = 80
STRIDES = [8, 16, 32, 64, 128]
INF = 1e8


def build_head(center_sampling: bool):
    """The FCOS head of ``fcos_r50_caffe_fpn_gn-head_1x_coco`` (optionally with centre
    sampling and ``norm_on_bbox``, the 'improvements' configs)."""
    return MODELS.build({'type': 'FCOSHead', 'num_classes': NUM_CLASSES, 'in_channels': 8,
                         'feat_channels': 32, 'stacked_convs': 1, 'strides': STRIDES,
                         'center_sampling': center_sampling, 'norm_on_bbox': center_sampling,
                         'train_cfg': {}})


def featmap_sizes(height: int, width: int) -> list[tuple[int, int]]:
    """Feature-map sizes of an FPN P3-P7 on a ``height x width`` (padded) batch."""
    return [(-(-height // s), -(-width // s)) for s in STRIDES]


def make_gts(batch_size: int, height: int, width: int, seed: int = 0):
    """1..50 random boxes per image (sides 8 px to 60% of the image) and labels."""
    g = torch.Generator().manual_seed(seed)
    boxes, labels = [], []
    for _ in range(batch_size):
        n = int(torch.randint(1, 51, (1,), generator=g))
        size = torch.tensor([width, height], dtype=torch.float32)
        wh = torch.rand(n, 2, generator=g) * 0.6 * size + 8
        xy = torch.rand(n, 2, generator=g) * (size - wh)
        boxes.append(torch.cat([xy, xy + wh], 1))
        labels.append(torch.randint(0, NUM_CLASSES, (n,), generator=g))
    return boxes, labels


def per_image_targets(head, mlvl_points, gt_bboxes, gt_labels):
    """mmdetection 2.x's ``FCOSHead.get_targets``, one image at a time; ``(B, N)`` labels
    and ``(B, N, 4)`` distance targets in the head's point order."""
    points = torch.cat(mlvl_points)
    ranges = torch.cat([points.new_tensor(r).expand(len(p), 2)
                        for r, p in zip(head.regress_ranges, mlvl_points, strict=True)])
    strides = torch.cat([points.new_full((len(p),), float(s))
                         for s, p in zip(STRIDES, mlvl_points, strict=True)])
    labels, targets = [], []
    for boxes, gt_label in zip(gt_bboxes, gt_labels, strict=True):
        num_points = len(points)
        areas = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None].repeat(
            num_points, 1)
        xs, ys = points[:, :1], points[:, 1:]
        bbox = torch.stack([xs - boxes[:, 0], ys - boxes[:, 1], boxes[:, 2] - xs,
                            boxes[:, 3] - ys], -1)  # (N, G, 4)
        if head.center_sampling:
            cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
            radius = (strides * head.center_sample_radius)[:, None]
            region = torch.stack([torch.maximum(cx - radius, boxes[:, 0]),
                                  torch.maximum(cy - radius, boxes[:, 1]),
                                  torch.minimum(cx + radius, boxes[:, 2]),
                                  torch.minimum(cy + radius, boxes[:, 3])], -1)
            inside = torch.stack([xs - region[..., 0], ys - region[..., 1],
                                  region[..., 2] - xs, region[..., 3] - ys],
                                 -1).min(-1).values > 0
        else:
            inside = bbox.min(-1).values > 0
        max_dist = bbox.max(-1).values
        in_range = (max_dist >= ranges[:, :1]) & (max_dist <= ranges[:, 1:])
        areas[~inside] = INF
        areas[~in_range] = INF
        min_area, inds = areas.min(dim=1)
        label = gt_label[inds]
        label[min_area == INF] = NUM_CLASSES
        target = bbox[torch.arange(num_points), inds]
        if head.norm_on_bbox:
            target = target / strides[:, None]
        labels.append(label)
        targets.append(target)
    return torch.stack(labels), torch.stack(targets)


def check_equal(batched, reference) -> int:
    """Labels equal, positives' targets equal; the number of positives."""
    labels, targets = reference
    assert torch.equal(batched.labels, labels), 'labels differ'
    pos = labels < NUM_CLASSES
    torch.testing.assert_close(batched.bbox_targets[pos], targets[pos], rtol=1e-6, atol=1e-5)
    return int(pos.sum())


def run(batch_size: int, repeats: int) -> list[str]:
    """Time both on 320x320 and 800x1216 batches, centre sampling off and on; the
    printed lines."""
    lines = []
    for height, width in ((320, 320), (800, 1216)):
        gt_bboxes, gt_labels = make_gts(batch_size, height, width)
        num_gts = [len(b) for b in gt_bboxes]
        for center_sampling in (False, True):
            head = build_head(center_sampling)
            sizes = featmap_sizes(height, width)
            mlvl_points = head.get_points(sizes)

            def batched(head=head, sizes=sizes, points=mlvl_points, gts=(gt_bboxes, gt_labels)):
                return head.get_targets(points, sizes, *gts)

            def reference(head=head, points=mlvl_points, gts=(gt_bboxes, gt_labels)):
                return per_image_targets(head, points, *gts)
            num_pos = check_equal(batched(), reference())
            t_batched, t_reference = [], []
            for _ in range(repeats):  # interleaved: both see the same load
                start = time.perf_counter()
                batched()
                t_batched.append(time.perf_counter() - start)
                start = time.perf_counter()
                reference()
                t_reference.append(time.perf_counter() - start)
            a, b = statistics.median(t_batched), statistics.median(t_reference)
            spread_a = f'{min(t_batched) * 1e3:.1f}-{max(t_batched) * 1e3:.1f}'
            spread_b = f'{min(t_reference) * 1e3:.1f}-{max(t_reference) * 1e3:.1f}'
            lines.append(
                f'FCOS {height}x{width}, {sum(len(p) for p in mlvl_points)} points, '
                f'gts {min(num_gts)}..{max(num_gts)} (total {sum(num_gts)}), centre '
                f'sampling {"on " if center_sampling else "off"}, {num_pos} positives, equal: '
                f'batched {a * 1e3:7.1f} ms ({spread_a}) | per-image {b * 1e3:7.1f} ms '
                f'({spread_b}) | {b / a:5.2f}x')
            print(lines[-1], flush=True)
    return lines
