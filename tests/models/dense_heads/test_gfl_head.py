"""GFLHead: batched decoding equals a per-image decode (softmax expectation of each side,
times the stride) + torchvision NMS reference and works with the dense-head test-time
augmentation; the batched loss equals a per-image, per-positive reference written here
(QFL and DFL by their formulas, torchvision's GIoU)."""
from __future__ import annotations

import math

import pytest
import torch
from torchvision.ops import box_iou, generalized_box_iou

from mmssd.registry import MODELS
from tests.helpers.dense_heads import (
    NUM_CLASSES,
    TEST_CFG,
    assert_decoding_traces,
    assert_flip_tta_equals_one_pass,
    assert_same_detections,
    meta,
    random_outputs,
    reference_nms,
    tiny_detector,
)

REG_MAX = 16
BINS = REG_MAX + 1
TRAIN_CFG = dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1,
                 debug=False)


@pytest.fixture(scope='module')
def model() -> torch.nn.Module:
    model = tiny_detector('GFL', dict(type='GFLHead', reg_max=REG_MAX), TRAIN_CFG)
    with torch.no_grad():  # right = left: mirror images of each other under a flip
        reg = model.bbox_head.gfl_reg
        reg.weight[2 * BINS:3 * BINS] = reg.weight[:BINS]
        reg.bias[2 * BINS:3 * BINS] = reg.bias[:BINS]
    return model


def expected_sides(logits: torch.Tensor) -> torch.Tensor:
    """``(n, 4 * BINS)`` -> ``(n, 4)``: sum_k k softmax(logits)_k per side."""
    probs = logits.view(-1, 4, BINS).softmax(-1)
    return (probs * torch.arange(BINS, dtype=probs.dtype)).sum(-1)


def reference_decode(head, cls_scores, bbox_preds, metas) -> list:
    results = []
    anchors = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores])
    for i, img_meta in enumerate(metas):
        h, w = img_meta['img_shape'][:2]
        boxes, scores = [], []
        for cls, reg, level_anchors, stride in zip(cls_scores, bbox_preds, anchors,
                                                   head.prior_generator.strides):
            prob = cls[i].permute(1, 2, 0).reshape(-1, NUM_CLASSES).sigmoid()
            out = reg[i].permute(1, 2, 0).reshape(-1, 4 * BINS)
            keep = prob.max(1).values.topk(min(TEST_CFG['nms_pre'], len(prob))).indices
            sides = expected_sides(out[keep]) * stride[0]
            cx = (level_anchors[keep, 0] + level_anchors[keep, 2]) / 2
            cy = (level_anchors[keep, 1] + level_anchors[keep, 3]) / 2
            box = torch.stack([(cx - sides[:, 0]).clamp(0, w), (cy - sides[:, 1]).clamp(0, h),
                               (cx + sides[:, 2]).clamp(0, w), (cy + sides[:, 3]).clamp(0, h)],
                              1)
            boxes.append(box / torch.as_tensor(img_meta['scale_factor']))
            scores.append(prob[keep])
        results.append(reference_nms(torch.cat(boxes), torch.cat(scores), TEST_CFG))
    return results


def test_decoding_equals_per_image_reference_and_traces(model) -> None:
    head = model.bbox_head
    cls_scores, bbox_preds = random_outputs(4 * BINS)
    metas = [meta((64, 80), 0.5), meta((50, 70), 1.25)]
    got = head.get_bboxes(cls_scores, bbox_preds, metas)
    assert assert_same_detections(got, reference_decode(head, cls_scores, bbox_preds,
                                                        metas)) >= 20
    assert_decoding_traces(head, 4 * BINS, metas)


def test_flip_tta(model) -> None:
    g = torch.Generator().manual_seed(2)
    img = torch.rand(2, 3, 64, 64, generator=g) * 2 - 1
    assert assert_flip_tta_equals_one_pass(model, img) >= 10


def qfl(logits: torch.Tensor, label: int, quality: float) -> torch.Tensor:
    total = logits.new_zeros(())
    for c, x in enumerate(logits):
        p = torch.sigmoid(x)
        t = quality if c == label else 0.0
        total = total - (t * torch.log(p) + (1 - t) * torch.log(1 - p)) * (t - p).abs() ** 2
    return total


def dfl(logits: torch.Tensor, y: float) -> torch.Tensor:
    left = math.floor(y)
    log_probs = logits.log_softmax(-1)
    return -(left + 1 - y) * log_probs[left] - (y - left) * log_probs[left + 1]


def reference_loss(head, cls_scores, bbox_preds, gt_bboxes, gt_labels) -> dict:
    """mmdetection's GFL loss with one image and one positive at a time."""
    levels = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores])
    strides = torch.cat([torch.full((len(a),), float(s[0]))
                         for a, s in zip(levels, head.prior_generator.strides)])
    anchors = torch.cat(levels)
    cls_all = torch.cat([c.permute(0, 2, 3, 1).reshape(c.size(0), -1, NUM_CLASSES)
                         for c in cls_scores], 1)
    reg_all = torch.cat([r.permute(0, 2, 3, 1).reshape(r.size(0), -1, 4 * BINS)
                         for r in bbox_preds], 1)
    num_pos, cls_sum, bbox_sum, dfl_sum, weight_sum = 0, 0.0, 0.0, 0.0, 0.0
    for i, (gts, labels) in enumerate(zip(gt_bboxes, gt_labels)):
        inds = head.assigner.assign(anchors, [len(a) for a in levels], gts,
                                    gt_labels=labels).gt_inds
        num_pos += max(int((inds > 0).sum()), 1)
        for j in range(len(anchors)):
            if inds[j] <= 0:
                cls_sum = cls_sum + qfl(cls_all[i, j], -1, 0.0)
                continue
            stride = strides[j]
            center = (anchors[j, :2] + anchors[j, 2:]) / 2 / stride
            sides = expected_sides(reg_all[i, j])[0]
            box = torch.cat([center - sides[:2], center + sides[2:]])[None]
            gt = gts[inds[j] - 1][None] / stride
            weight = cls_all[i, j].detach().sigmoid().max()
            quality = box_iou(box.detach(), gt)[0, 0]
            cls_sum = cls_sum + qfl(cls_all[i, j], int(labels[inds[j] - 1]), float(quality))
            bbox_sum = bbox_sum + weight * (1 - generalized_box_iou(box, gt)[0, 0])
            target = torch.cat([center - gt[0, :2], gt[0, 2:] - center]).clamp(0, REG_MAX - 0.1)
            dfl_sum = dfl_sum + weight * sum(
                dfl(reg_all[i, j].view(4, BINS)[k], float(target[k])) for k in range(4)) / 4
            weight_sum = weight_sum + weight
    avg = max(float(weight_sum), 1.0)
    return {'loss_cls': cls_sum / num_pos, 'loss_bbox': 2.0 * bbox_sum / avg,
            'loss_dfl': 0.25 * dfl_sum / avg}


def test_batched_loss_equals_per_image_reference(model) -> None:
    head = model.bbox_head
    cls_scores, bbox_preds = random_outputs(4 * BINS, sizes=((8, 8), (4, 4), (2, 2)))
    gt_bboxes = [torch.tensor([[2., 3., 20., 25.], [15., 5., 30., 15.]]), torch.zeros((0, 4)),
                 torch.tensor([[1., 1., 31., 31.]])]
    gt_labels = [torch.tensor([0, 2]), torch.zeros(0, dtype=torch.long), torch.tensor([1])]
    cls_scores = [torch.cat([c, c[:1]]) for c in cls_scores]  # a batch of 3
    bbox_preds = [torch.cat([r, r[:1]]) for r in bbox_preds]
    got = head.loss(cls_scores, bbox_preds, gt_bboxes, gt_labels, [meta(32)] * 3)
    want = reference_loss(head, cls_scores, bbox_preds, gt_bboxes, gt_labels)
    assert set(got) == set(want)
    for key in want:
        torch.testing.assert_close(got[key], want[key], msg=key)


def test_one_anchor_per_location_is_required() -> None:
    with pytest.raises(ValueError, match='one anchor per location'):
        MODELS.build(dict(type='GFLHead', num_classes=2, in_channels=32, anchor_generator=dict(
            type='AnchorGenerator', strides=[4, 8, 16], ratios=[0.5, 1.0],
            octave_base_scale=4, scales_per_octave=1)))
