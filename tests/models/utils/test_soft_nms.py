"""Soft-NMS against mmcv 1.x's loop written out box by box in the test.

The reference is mmcv's ``soft_nms`` on class-offset boxes (``batched_nms``): one pass
over all boxes, each step keeping the best remaining box and decaying the others of its
class; every other box is dropped once its score is below ``min_score``. Exact ties go to
the lower index.
"""
from __future__ import annotations

import math

import pytest
import torch

from mmssd.models.utils.multiclass_nms import batched_nms, multiclass_nms


def iou(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def reference_soft_nms(boxes, scores, labels, iou_thr=0.3, sigma=0.5, min_score=1e-3,
                       method='linear'):
    """``[(index, decayed score)]`` by decreasing score (ties by index)."""
    boxes, current, labels = boxes.tolist(), scores.tolist(), labels.tolist()
    remaining, kept = list(range(len(current))), []
    while remaining:
        best = min(remaining, key=lambda i: (-current[i], i))
        remaining.remove(best)
        kept.append((best, current[best]))
        survivors = []
        for i in remaining:
            if labels[i] == labels[best]:
                overlap = iou(boxes[best], boxes[i])
                if method == 'gaussian':
                    current[i] *= math.exp(-overlap * overlap / sigma)
                elif overlap >= iou_thr:
                    current[i] *= 1 - overlap if method == 'linear' else 0.0
            if current[i] >= min_score:
                survivors.append(i)
        remaining = survivors
    return sorted(kept, key=lambda k: (-k[1], k[0]))


def clustered_boxes(n: int, num_classes: int, seed: int):
    """Boxes in a few clusters (so they overlap), random scores and classes."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.rand(4, 2, generator=generator) * 100
    xy = centres[torch.randint(4, (n,), generator=generator)] + \
        torch.randn(n, 2, generator=generator) * 6
    wh = torch.rand(n, 2, generator=generator) * 20 + 10
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.rand(n, generator=generator)
    labels = torch.randint(num_classes, (n,), generator=generator)
    return boxes, scores, labels


def check(boxes, scores, labels, **nms):
    keep, kept_scores = batched_nms(boxes, scores, labels, dict(type='soft_nms', **nms))
    expected = reference_soft_nms(boxes, scores, labels, **{
        'iou_thr' if k == 'iou_threshold' else k: v for k, v in nms.items()})
    assert keep.tolist() == [i for i, _ in expected]
    assert kept_scores.tolist() == pytest.approx([s for _, s in expected], rel=1e-5, abs=1e-7)
    return keep, kept_scores


@pytest.mark.parametrize('nms', [
    dict(method='linear', iou_threshold=0.3, min_score=0.05),
    dict(method='linear', iou_threshold=0.5),
    dict(method='gaussian', sigma=0.5, min_score=0.01),
    dict(method='gaussian', sigma=0.1, min_score=0.1),
    dict(method='naive', iou_threshold=0.4, min_score=0.0),
], ids=lambda n: '-'.join(map(str, n.values())))
def test_equals_the_per_box_reference(nms):
    keep, kept_scores = check(*clustered_boxes(120, 3, seed=0), **nms)
    assert len(keep) > 10 and bool((kept_scores[:-1] >= kept_scores[1:]).all())


@pytest.mark.parametrize('method', ['linear', 'gaussian'])
def test_ties_go_to_the_lower_index(method):
    boxes, scores, labels = clustered_boxes(40, 2, seed=1)
    boxes = torch.cat([boxes, boxes[:10]])  # exact duplicates, equal scores
    scores = torch.cat([scores, scores[:10]])
    labels = torch.cat([labels, labels[:10]])
    scores[20:30] = scores[0]  # equal scores on different boxes
    check(boxes, scores, labels, method=method, iou_threshold=0.3, min_score=0.001)


def test_min_score_prunes_and_keeps_mmcvs_first_pick():
    boxes, scores, labels = clustered_boxes(60, 2, seed=2)
    scores[:20] *= 0.05  # start below min_score: dropped at the first step
    keep, _ = check(boxes, scores, labels, method='linear', iou_threshold=0.3, min_score=0.05)
    assert not set(keep.tolist()) & {i for i in range(20) if scores[i] < 0.05}
    # every box below min_score: mmcv still keeps the best one
    keep, kept_scores = check(boxes, scores * 0.01, labels, min_score=0.05)
    assert keep.tolist() == [int(scores.argmax())]


@pytest.mark.parametrize('method', ['linear', 'gaussian'])
def test_max_num_is_the_prefix_and_class_agnostic_is_one_class(method):
    boxes, scores, labels = clustered_boxes(150, 4, seed=3)
    cfg = dict(type='soft_nms', method=method, min_score=0.01)
    keep, kept_scores = batched_nms(boxes, scores, labels, cfg)
    top, top_scores = batched_nms(boxes, scores, labels, cfg, max_num=15)
    assert top.tolist() == keep[:15].tolist()
    assert torch.equal(top_scores, kept_scores[:15])
    agnostic, _ = batched_nms(boxes, scores, labels, dict(cfg, class_agnostic=True))
    expected = reference_soft_nms(boxes, scores, torch.zeros_like(labels), method=method,
                                  min_score=0.01)
    assert agnostic.tolist() == [i for i, _ in expected]


def test_multiclass_nms_returns_the_decayed_scores():
    boxes, scores, labels = clustered_boxes(50, 3, seed=4)
    multi_scores = torch.zeros(50, 4)  # background column last
    multi_scores[torch.arange(50), labels] = scores
    dets, det_labels = multiclass_nms(boxes, multi_scores, 0.05,
                                      dict(type='soft_nms', iou_threshold=0.3), max_num=20)
    above = scores > 0.05
    index = above.nonzero().view(-1)
    expected = reference_soft_nms(boxes[above], scores[above], labels[above])[:20]
    assert det_labels.tolist() == [int(labels[index[i]]) for i, _ in expected]
    assert dets[:, 4].tolist() == pytest.approx([s for _, s in expected], rel=1e-5)
    assert torch.equal(dets[:, :4], boxes[index[[i for i, _ in expected]]])
    empty, empty_labels = multiclass_nms(boxes, multi_scores, 2.0, dict(type='soft_nms'))
    assert empty.shape == (0, 5) and empty_labels.shape == (0,)
