"""SSD300 target assignment + hard-negative-mined loss: batched head vs. a per-image loop.

Times, on the same random batch (32 images, 8732 SSD300 VOC anchors, 1 to 50 ground truths
per image, seeded), forward and backward of

(a) ``SSDHead.get_targets`` + ``SSDHead.loss_from_targets`` (one batched pass), and
(b) a plain per-image reference: ``MaxIoUAssigner.assign`` per image, per-image
    cross-entropy with the hardest ``3 * num_pos`` negatives taken by ``topk``, per-image
    smooth L1 (mmdetection 2.x's ``SSDHead.loss_single`` loop),

checks that both give the same losses and prints the median times and the speed-up.

``--parts``: which targets to time (default all): ``ssd`` (above); ``atss``: ATSS
assignment of 16 images (1 to 50 ground truths each, 320x320 and 800x1216),
``ATSSAssigner.assign_batched`` vs. a per-image reference (:mod:`atss_assignment`);
``fcos``: FCOS point targets of 16 images at the same sizes, batched
``FCOSHead.get_targets`` vs. a per-image reference (:mod:`fcos_target_assignment`).

    python benchmarks/bench_target_assignment.py [--quick] [--threads 2] [--parts ssd atss fcos]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import mmssd.models  # noqa: F401  (registers the modules)
from mmssd.registry import MODELS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fcos_target_assignment  # noqa: E402
from atss_assignment import bench_atss  # noqa: E402

NUM_CLASSES = 20
FEAT_SIZES = [(38, 38), (19, 19), (10, 10), (5, 5), (3, 3), (1, 1)]
HEAD_CFG = {
    'type': 'SSDHead', 'num_classes': NUM_CLASSES, 'in_channels': (8, 8, 8, 8, 8, 8),
    'anchor_generator': {'type': 'SSDAnchorGenerator', 'scale_major': False, 'input_size': 300,
                         'basesize_ratio_range': (0.2, 0.9),
                         'strides': [8, 16, 32, 64, 100, 300],
                         'ratios': [[2], [2, 3], [2, 3], [2, 3], [2], [2]]},
    'bbox_coder': {'type': 'DeltaXYWHBBoxCoder', 'target_means': [0.] * 4,
                   'target_stds': [0.1, 0.1, 0.2, 0.2]},
    'train_cfg': {'assigner': {'type': 'MaxIoUAssigner', 'pos_iou_thr': 0.5,
                               'neg_iou_thr': 0.5, 'min_pos_iou': 0., 'ignore_iof_thr': -1,
                               'gt_max_assign_all': False},
                  'smoothl1_beta': 1., 'allowed_border': -1, 'pos_weight': -1,
                  'neg_pos_ratio': 3, 'debug': False}}


def make_batch(batch_size: int, num_anchors: int, seed: int = 0):
    """Random head outputs ``(B, N, C + 1)``, ``(B, N, 4)`` and 1..50 gts per image."""
    g = torch.Generator().manual_seed(seed)
    cls_scores = torch.randn(batch_size, num_anchors, NUM_CLASSES + 1, generator=g)
    bbox_preds = torch.randn(batch_size, num_anchors, 4, generator=g)
    gt_bboxes, gt_labels = [], []
    for _ in range(batch_size):
        n = int(torch.randint(1, 51, (1,), generator=g))
        xy = torch.rand(n, 2, generator=g) * 250
        wh = torch.rand(n, 2, generator=g) * 150 + 10
        gt_bboxes.append(torch.cat([xy, (xy + wh).clamp(max=300)], dim=1))
        gt_labels.append(torch.randint(0, NUM_CLASSES, (n,), generator=g))
    return cls_scores, bbox_preds, gt_bboxes, gt_labels


def batched_loss(head, anchors, cls_scores, bbox_preds, gt_bboxes, gt_labels):
    """(a): the head's batched targets and loss."""
    targets = head.get_targets(anchors, gt_bboxes, gt_labels)
    losses = head.loss_from_targets(cls_scores, bbox_preds, anchors, targets)
    return losses['loss_cls'], losses['loss_bbox']


def per_image_loss(head, anchors, cls_scores, bbox_preds, gt_bboxes, gt_labels):
    """(b): one image at a time, as mmdetection 2.x's SSDHead does."""
    beta = head.train_cfg['smoothl1_beta']
    neg_pos_ratio = head.train_cfg['neg_pos_ratio']
    per_image = []
    for gts, labels_in in zip(gt_bboxes, gt_labels, strict=True):
        assign = head.assigner.assign(anchors, gts, gt_labels=labels_in)
        pos = assign.gt_inds > 0
        neg = assign.gt_inds == 0
        labels = torch.full((len(anchors),), NUM_CLASSES, dtype=torch.long)
        labels[pos] = assign.labels[pos]
        targets = torch.zeros(len(anchors), 4)
        pos_inds = pos.nonzero().view(-1)
        targets[pos_inds] = head.bbox_coder.encode(anchors[pos_inds],
                                                   gts[assign.gt_inds[pos_inds] - 1])
        per_image.append((labels, pos_inds, neg.nonzero().view(-1), targets))
    num_total_pos = sum(max(len(pos_inds), 1) for _, pos_inds, _, _ in per_image)
    loss_cls, loss_bbox = 0., 0.
    for i, (labels, pos_inds, neg_inds, targets) in enumerate(per_image):
        ce = F.cross_entropy(cls_scores[i], labels, reduction='none')
        num_neg = min(neg_pos_ratio * len(pos_inds), len(neg_inds))
        hardest = ce[neg_inds].topk(num_neg).values
        loss_cls = loss_cls + (ce[pos_inds].sum() + hardest.sum()) / num_total_pos
        diff = (bbox_preds[i, pos_inds] - targets[pos_inds]).abs()
        smooth = torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)
        loss_bbox = loss_bbox + smooth.sum() / num_total_pos
    return loss_cls, loss_bbox


def time_it(fn, inputs, repeats: int) -> tuple[list[float], tuple]:
    """Times of ``repeats`` forward + backward passes (after one warm-up)."""
    times, result = [], None
    for i in range(repeats + 1):
        cls_scores = inputs[0].clone().requires_grad_()
        bbox_preds = inputs[1].clone().requires_grad_()
        start = time.perf_counter()
        loss_cls, loss_bbox = fn(cls_scores, bbox_preds)
        (loss_cls + loss_bbox).backward()
        elapsed = time.perf_counter() - start
        if i:
            times.append(elapsed)
        result = (loss_cls.detach(), loss_bbox.detach(), cls_scores.grad, bbox_preds.grad)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='3 repeats instead of 15')
    parser.add_argument('--repeats', type=int, default=None)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--parts', nargs='+', default=['ssd', 'atss', 'fcos'],
                        choices=['ssd', 'atss', 'fcos'])
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 15)
    torch.set_num_threads(args.threads)
    if {'atss', 'fcos'} & set(args.parts):
        print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
              f'{platform.processor() or platform.machine()}, median of {repeats} (min-max)')
    if 'atss' in args.parts:
        bench_atss(repeats)
    if 'fcos' in args.parts:
        fcos_target_assignment.run(16, repeats)
    if 'ssd' not in args.parts:
        return

    head = MODELS.build(HEAD_CFG)
    anchors = torch.cat(head.prior_generator.grid_priors(FEAT_SIZES))
    assert len(anchors) == 8732
    cls_scores, bbox_preds, gt_bboxes, gt_labels = make_batch(args.batch_size, len(anchors))
    inputs = (cls_scores, bbox_preds)

    def run_batched(cls, reg):
        return batched_loss(head, anchors, cls, reg, gt_bboxes, gt_labels)

    def run_per_image(cls, reg):
        return per_image_loss(head, anchors, cls, reg, gt_bboxes, gt_labels)

    # interleave the two so that both see the same machine load
    batched_times, per_image_times = [], []
    batched = reference = None
    for _ in range(repeats):
        times, batched = time_it(run_batched, inputs, 1)
        batched_times += times
        times, reference = time_it(run_per_image, inputs, 1)
        per_image_times += times
    for name, got, want in zip(('loss_cls', 'loss_bbox', 'grad cls', 'grad bbox'),
                               batched, reference, strict=True):
        torch.testing.assert_close(got, torch.as_tensor(want), rtol=1e-4, atol=1e-6,
                                   msg=f'{name} differs between batched and per-image')
    t_batched = statistics.median(batched_times)
    t_per_image = statistics.median(per_image_times)
    num_gts = [len(b) for b in gt_bboxes]
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'{platform.processor() or platform.machine()}')
    print(f'batch {args.batch_size} x {len(anchors)} anchors, gts per image '
          f'{min(num_gts)}..{max(num_gts)} (total {sum(num_gts)}), median of {repeats}, '
          'forward + backward')
    print(f'losses match: loss_cls {float(batched[0]):.4f}, loss_bbox {float(batched[1]):.4f}')
    print(f'(a) batched get_targets + loss : {t_batched * 1e3:8.1f} ms')
    print(f'(b) per-image reference       : {t_per_image * 1e3:8.1f} ms')
    print(f'speed-up (b) / (a)            : {t_per_image / t_batched:8.2f}x')


if __name__ == '__main__':
    main()
