"""multiclass_nms against a plain greedy per-class NMS written out in the test."""
import pytest
import torch
from torchvision.ops import nms

from mmssd.models.utils.multiclass_nms import best_first_nms, multiclass_nms


def iou(a: torch.Tensor, b: torch.Tensor) -> float:
    w = (torch.min(a[2], b[2]) - torch.max(a[0], b[0])).clamp(min=0)
    h = (torch.min(a[3], b[3]) - torch.max(a[1], b[1])).clamp(min=0)
    inter = w * h
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return float(inter / (area(a) + area(b) - inter))


def greedy_nms(boxes, scores, score_thr, iou_thr, min_size=0.0):
    """Per class: sort by score, keep a box unless it overlaps a kept one by > iou_thr."""
    kept = []
    for c in range(scores.size(1) - 1):
        order = sorted(range(len(boxes)), key=lambda i: -float(scores[i, c]))
        chosen = []
        for i in order:
            box, score = boxes[i], float(scores[i, c])
            if score <= score_thr or min(box[2] - box[0], box[3] - box[1]) < min_size:
                continue
            if all(iou(box, boxes[j]) <= iou_thr for j in chosen):
                chosen.append(i)
                kept.append((score, c, i))
    return sorted(kept, reverse=True)


@pytest.mark.parametrize('min_size', [0.0, 8.0])
def test_matches_greedy_reference(min_size):
    generator = torch.Generator().manual_seed(0)
    xy = torch.rand(60, 2, generator=generator) * 80
    wh = torch.rand(60, 2, generator=generator) * 30 + 2
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.rand(60, 4, generator=generator).softmax(-1)
    dets, labels = multiclass_nms(boxes, scores, 0.1, dict(type='nms', iou_threshold=0.45),
                                  min_bbox_size=min_size)
    expected = greedy_nms(boxes, scores, 0.1, 0.45, min_size)
    assert len(dets) == len(expected) > 0
    assert dets[:, 4].tolist() == pytest.approx([s for s, _, _ in expected])
    assert labels.tolist() == [c for _, c, _ in expected]
    assert torch.equal(dets[:, :4], boxes[[i for _, _, i in expected]])


def test_max_num_keeps_the_best_and_empty_input_works():
    boxes = torch.tensor([[0., 0, 10, 10], [50, 50, 60, 60], [100, 100, 110, 110]])
    scores = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]])
    dets, labels = multiclass_nms(boxes, scores, 0.05, dict(iou_threshold=0.5), max_num=2)
    assert dets[:, 4].tolist() == pytest.approx([0.9, 0.8]) and labels.tolist() == [0, 0]
    dets, labels = multiclass_nms(boxes, scores, 0.95, dict(iou_threshold=0.5))
    assert dets.shape == (0, 5) and labels.shape == (0,)


@pytest.mark.parametrize('class_agnostic', [False, True])
@pytest.mark.parametrize('max_num', [-1, 1, 7, 50, 200, 5000])
def test_same_as_torchvision_batched_nms_on_many_candidates(class_agnostic, max_num):
    """Thousands of (box, class) candidates, as SSD produces: the per-class slices and the
    best-first shortcut for ``max_num`` give torchvision's ``batched_nms`` result."""
    from torchvision.ops import batched_nms
    generator = torch.Generator().manual_seed(1)
    xy = torch.rand(1500, 2, generator=generator) * 250
    wh = torch.rand(1500, 2, generator=generator) * 60 + 1
    boxes = torch.cat([xy, xy + wh], 1)
    scores = (torch.randn(1500, 21, generator=generator) * 2).softmax(-1)
    cfg = dict(type='nms', iou_threshold=0.45, class_agnostic=class_agnostic)
    dets, labels = multiclass_nms(boxes, scores, 0.02, cfg, max_num=max_num)

    flat_scores = scores[:, :-1].reshape(-1)
    flat_labels = torch.arange(20).repeat(1500)
    flat_boxes = boxes[:, None].expand(-1, 20, 4).reshape(-1, 4)
    mask = flat_scores > 0.02
    groups = torch.zeros_like(flat_labels) if class_agnostic else flat_labels
    keep = batched_nms(flat_boxes[mask], flat_scores[mask], groups[mask], 0.45)
    if max_num > 0:
        keep = keep[:max_num]
    assert mask.sum() > 4000 and len(dets) == len(keep) > 0
    assert torch.equal(dets[:, :4], flat_boxes[mask][keep])
    assert torch.equal(dets[:, 4], flat_scores[mask][keep])
    assert torch.equal(labels, flat_labels[mask][keep])


@pytest.mark.parametrize('total, max_num', [(50, 5), (300, 40), (700, 200), (2756, 1000)])
def test_best_first_nms_equals_nms_of_all_candidates(total: int, max_num: int):
    """The first ``max_num`` kept by NMS over all candidates, whatever passes it takes; a
    pass on part of them only when that part is at most half of the candidates."""
    g = torch.Generator().manual_seed(total)
    xy = torch.rand(total, 2, generator=g) * 100
    boxes = torch.cat([xy, xy + torch.rand(total, 2, generator=g) * 30 + 1], dim=1)
    scores = torch.rand(total, generator=g)
    calls = []

    def suppress(inds):
        calls.append(len(inds))
        return nms(boxes[inds], scores[inds], 0.3)

    expected = nms(boxes, scores, 0.3)[:max_num]
    assert torch.equal(best_first_nms(suppress, scores, max_num), expected)
    assert all(size * 2 <= total for size in calls[:-1]), calls
