"""SimOTAAssigner batched equals mmdetection's per-image algorithm, written out here."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.ops import box_iou

from mmssd.models.task_modules import SimOTAAssigner
from mmssd.models.utils import pad_instances

INF = 100000.0


def per_image(scores, priors, decoded, gts, labels, radius=2.5, topk=10):
    """mmdetection 2.x's SimOTA for one image, loop over ground truths and all: returns
    (gt_inds (N,), ious (N,), labels (N,))."""
    n, g = decoded.size(0), gts.size(0)
    gt_inds = torch.zeros(n, dtype=torch.long)
    if g == 0:
        return gt_inds, torch.zeros(n), torch.full((n,), -1)
    x, y, sx, sy = (priors[:, i:i + 1].repeat(1, g) for i in range(4))
    in_gts = torch.stack([x - gts[:, 0], y - gts[:, 1], gts[:, 2] - x, gts[:, 3] - y],
                         1).min(1).values > 0
    cx, cy = (gts[:, 0] + gts[:, 2]) / 2.0, (gts[:, 1] + gts[:, 3]) / 2.0
    in_cts = torch.stack([x - (cx - radius * sx), y - (cy - radius * sy),
                          (cx + radius * sx) - x, (cy + radius * sy) - y], 1).min(1).values > 0
    valid = in_gts.any(1) | in_cts.any(1)
    in_both = in_gts[valid] & in_cts[valid]
    if valid.sum() == 0:
        return gt_inds, torch.zeros(n), torch.full((n,), -1)
    ious = box_iou(decoded[valid], gts)
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
    out_ious, out_labels = torch.zeros(n), torch.full((n,), -1)
    idx = valid.nonzero()[:, 0][fg]
    matched = matching[fg].argmax(1)
    gt_inds[idx] = matched + 1
    out_ious[idx] = (matching * ious).sum(1)[fg]
    out_labels[idx] = labels[matched]
    return gt_inds, out_ious, out_labels


def _priors() -> torch.Tensor:
    pts = []
    for stride, size in ((8, 8), (16, 4), (32, 2)):
        ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing='ij')
        centre = torch.stack([xs, ys], -1).reshape(-1, 2).float() * stride + stride / 2
        pts.append(torch.cat([centre, torch.full_like(centre, stride)], 1))
    return torch.cat(pts)


def test_batched_equals_per_image_reference():
    torch.manual_seed(0)
    priors = _priors()  # 84 priors on a 64x64 image
    num_classes, counts = 5, [3, 0, 1, 6, 2]
    gts = []
    for b, k in enumerate(counts):
        xy = torch.rand(k, 2) * 48
        wh = torch.rand(k, 2) * 30 + 2
        boxes = torch.cat([xy, xy + wh], 1)
        if b == 4:  # a ground truth far outside the image: no prior is its candidate
            boxes[1] = torch.tensor([500.0, 500.0, 510.0, 512.0])
        gts.append(boxes)
    labels = [torch.randint(0, num_classes, (k,)) for k in counts]
    centres = priors[:, :2][None].expand(len(counts), -1, -1)
    wh = torch.rand(len(counts), len(priors), 2) * 30 + 1
    decoded = torch.cat([centres - wh / 2, centres + wh / 2], -1)
    scores = torch.rand(len(counts), len(priors), num_classes)
    padded, valid = pad_instances(gts)
    padded_labels, _ = pad_instances(labels, pad_value=-1)
    result = SimOTAAssigner().assign_batched(scores, priors, decoded, padded, padded_labels,
                                             valid)
    assert result.gt_inds.shape == (5, 84)
    positives = 0
    for b in range(len(counts)):
        inds, ious, labs = per_image(scores[b], priors, decoded[b], gts[b], labels[b])
        torch.testing.assert_close(result.gt_inds[b], inds, rtol=0, atol=0)
        torch.testing.assert_close(result.max_overlaps[b], ious)
        torch.testing.assert_close(result.labels[b], labs, rtol=0, atol=0)
        positives += int((inds > 0).sum())
    assert (result.gt_inds[1] == 0).all() and positives > 10
    # priors outside every box and centre region are never positive; the far-away ground
    # truth, a candidate of no prior, takes its k = 1 cheapest at INF cost (as mmdetection)
    candidates, _ = SimOTAAssigner().candidates(priors, padded, valid)
    assert (~candidates).sum() > 10 and (result.gt_inds[~candidates] == 0).all()
    assert (result.gt_inds[4] == 2).sum() <= 1
    one = SimOTAAssigner().assign(scores[0], priors, decoded[0], gts[0], labels[0])
    torch.testing.assert_close(one.gt_inds, result.gt_inds[0], rtol=0, atol=0)
