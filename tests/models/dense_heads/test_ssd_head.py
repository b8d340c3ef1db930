"""SSDHead: batched loss equals a plain per-image reference; post-processing format."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import box_iou

from mmssd.registry import MODELS

NUM_CLASSES = 3
STDS = (0.1, 0.1, 0.2, 0.2)
TRAIN_CFG = {
    'assigner': {'type': 'MaxIoUAssigner', 'pos_iou_thr': 0.5, 'neg_iou_thr': 0.5,
                 'min_pos_iou': 0., 'ignore_iof_thr': -1, 'gt_max_assign_all': False},
    'sampler': {'type': 'PseudoSampler'}, 'smoothl1_beta': 1., 'allowed_border': -1,
    'pos_weight': -1, 'neg_pos_ratio': 3, 'debug': False}
TEST_CFG = {'nms_pre': 20, 'nms': {'type': 'nms', 'iou_threshold': 0.45}, 'min_bbox_size': 0,
            'score_thr': 0.02, 'max_per_img': 15}
FEAT_SIZES = [(8, 8), (4, 4)]


def build_head(**kwargs) -> torch.nn.Module:
    cfg = {
        'type': 'SSDHead', 'num_classes': NUM_CLASSES, 'in_channels': (8, 8),
        'anchor_generator': {'type': 'SSDAnchorGenerator', 'scale_major': False,
                             'strides': [8, 16], 'ratios': [[2], [2, 3]], 'min_sizes': [12, 30],
                             'max_sizes': [30, 60]},
        'bbox_coder': {'type': 'DeltaXYWHBBoxCoder', 'target_means': [0.] * 4,
                       'target_stds': STDS},
        'train_cfg': TRAIN_CFG, 'test_cfg': TEST_CFG}
    cfg.update(kwargs)
    return MODELS.build(cfg)


def random_outputs(head, batch_size: int, generator: torch.Generator):
    cls_scores, bbox_preds = [], []
    for (h, w), num_priors in zip(FEAT_SIZES, head.num_base_priors, strict=True):
        cls_scores.append(torch.randn(batch_size, num_priors * (NUM_CLASSES + 1), h, w,
                                      generator=generator).requires_grad_())
        bbox_preds.append(torch.randn(batch_size, num_priors * 4, h, w,
                                      generator=generator).requires_grad_())
    return cls_scores, bbox_preds


def random_gts(counts, generator, num_classes: int = NUM_CLASSES, min_size: float = 8,
               size_range: float = 30):
    """Per image ``counts[i]`` random boxes (sides ``min_size`` + up to ``size_range``) and
    labels in ``[0, num_classes)``. Also used by the RetinaHead tests."""
    gt_bboxes, gt_labels = [], []
    for n in counts:
        xy = torch.rand(n, 2, generator=generator) * 40
        wh = torch.rand(n, 2, generator=generator) * size_range + min_size
        gt_bboxes.append(torch.cat([xy, xy + wh], dim=1))
        gt_labels.append(torch.randint(0, num_classes, (n,), generator=generator))
    return gt_bboxes, gt_labels


def encode(anchors, gts, stds=STDS):
    """The ``(dx, dy, dw, dh) / stds`` regression targets of ``gts`` from ``anchors``."""
    pxy, pwh = (anchors[:, :2] + anchors[:, 2:]) / 2, anchors[:, 2:] - anchors[:, :2]
    gxy, gwh = (gts[:, :2] + gts[:, 2:]) / 2, gts[:, 2:] - gts[:, :2]
    deltas = torch.cat([(gxy - pxy) / pwh, torch.log(gwh / pwh)], dim=1)
    return deltas / torch.tensor(stds)


def flatten_levels(outputs, channels: int):
    """Per-level ``(B, A * channels, H, W)`` maps -> ``(B, sum(H * W * A), channels)``."""
    return torch.cat([o.permute(0, 2, 3, 1).reshape(o.size(0), -1, channels) for o in outputs],
                     1)


def decode(anchors, deltas, stds=STDS):
    """Boxes from ``deltas * stds`` applied to ``anchors`` (the inverse of :func:`encode`)."""
    deltas = deltas * torch.tensor(stds)
    pxy, pwh = (anchors[:, :2] + anchors[:, 2:]) / 2, anchors[:, 2:] - anchors[:, :2]
    cxy, wh = pxy + deltas[:, :2] * pwh, pwh * torch.exp(deltas[:, 2:])
    return torch.cat([cxy - wh / 2, cxy + wh / 2], dim=1)


def reference_loss(anchors, cls_scores, bbox_preds, gt_bboxes, gt_labels, pos_weight=-1.,
                   reg_decoded_bbox=False):
    """mmdetection 2.x's SSD loss, one image at a time, written as plainly as possible.

    ``pos_weight > 0`` weighs the positives' classification terms; ``reg_decoded_bbox``
    regresses decoded boxes onto the ground-truth boxes instead of deltas onto the encoded
    ground truths."""
    all_cls = flatten_levels(cls_scores, NUM_CLASSES + 1)
    all_reg = flatten_levels(bbox_preds, 4)
    num_anchors = len(anchors)
    per_image = []
    for gts, gt_lbl in zip(gt_bboxes, gt_labels, strict=True):
        assigned = torch.zeros(num_anchors, dtype=torch.long)
        if len(gts):
            iou = box_iou(gts, anchors)
            max_iou, argmax = iou.max(dim=0)
            assigned = torch.full((num_anchors,), -1, dtype=torch.long)
            assigned[(max_iou >= 0) & (max_iou < 0.5)] = 0
            assigned[max_iou >= 0.5] = argmax[max_iou >= 0.5] + 1
            gt_max, gt_argmax = iou.max(dim=1)
            for i in range(len(gts)):
                if gt_max[i] >= 0.:
                    assigned[gt_argmax[i]] = i + 1
        pos = assigned > 0
        labels = torch.full((num_anchors,), NUM_CLASSES, dtype=torch.long)
        labels[pos] = gt_lbl[assigned[pos] - 1]
        label_weights = ((assigned > 0) | (assigned == 0)).float()
        if pos_weight > 0:
            label_weights[pos] = pos_weight
        targets = torch.zeros(num_anchors, 4)
        if pos.any():
            matched = gts[assigned[pos] - 1]
            targets[pos] = matched if reg_decoded_bbox else encode(anchors[pos], matched)
        per_image.append((labels, label_weights, targets, pos))
    num_total_pos = sum(max(int(p.sum()), 1) for *_, p in per_image)
    loss_cls, loss_bbox = 0., 0.
    for i, (labels, label_weights, targets, pos) in enumerate(per_image):
        ce = F.cross_entropy(all_cls[i], labels, reduction='none') * label_weights
        neg_inds = (labels == NUM_CLASSES).nonzero().view(-1)
        num_neg = min(3 * int(pos.sum()), len(neg_inds))
        hardest, _ = ce[neg_inds].topk(num_neg)
        loss_cls = loss_cls + (ce[pos].sum() + hardest.sum()) / num_total_pos
        preds = decode(anchors, all_reg[i]) if reg_decoded_bbox else all_reg[i]
        diff = (preds - targets).abs()
        smooth = torch.where(diff < 1., 0.5 * diff ** 2, diff - 0.5)
        loss_bbox = loss_bbox + (smooth * pos[:, None]).sum() / num_total_pos
    return loss_cls, loss_bbox


@pytest.mark.parametrize('counts', [(3, 1, 0), (0, 0), (5, 2)])
def test_batched_loss_equals_per_image_reference(counts):
    g = torch.Generator().manual_seed(sum(counts) + len(counts))
    head = build_head()
    cls_scores, bbox_preds = random_outputs(head, len(counts), g)
    gt_bboxes, gt_labels = random_gts(counts, g)
    metas = [{'img_shape': (64, 64, 3)}] * len(counts)
    losses = head.loss(cls_scores, bbox_preds, gt_bboxes, gt_labels, metas)
    anchors = torch.cat(head.prior_generator.grid_priors(FEAT_SIZES))
    ref_cls, ref_bbox = reference_loss(anchors, cls_scores, bbox_preds, gt_bboxes, gt_labels)
    torch.testing.assert_close(losses['loss_cls'], torch.as_tensor(ref_cls), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(losses['loss_bbox'], torch.as_tensor(ref_bbox), rtol=1e-5,
                               atol=1e-6)
    if sum(counts):
        assert losses['loss_cls'] > 0 and losses['loss_bbox'] > 0
        grads = torch.autograd.grad(losses['loss_cls'] + losses['loss_bbox'],
                                    cls_scores + bbox_preds)
        ref_grads = torch.autograd.grad(ref_cls + ref_bbox, cls_scores + bbox_preds)
        for grad, ref_grad in zip(grads, ref_grads, strict=True):
            torch.testing.assert_close(grad, ref_grad, rtol=1e-5, atol=1e-7)
    else:
        assert losses['loss_cls'] == 0 and losses['loss_bbox'] == 0


def test_forward_shapes():
    head = build_head()
    feats = [torch.rand(2, 8, h, w) for h, w in FEAT_SIZES]
    cls_scores, bbox_preds = head(feats)
    assert [tuple(s.shape) for s in cls_scores] == [(2, 16, 8, 8), (2, 24, 4, 4)]
    assert [tuple(b.shape) for b in bbox_preds] == [(2, 16, 8, 8), (2, 24, 4, 4)]


def test_get_bboxes_format_and_rescale():
    g = torch.Generator().manual_seed(3)
    head = build_head()
    cls_scores, bbox_preds = random_outputs(head, 2, g)
    metas = [{'img_shape': (64, 64, 3), 'scale_factor': np.full(4, 2., dtype=np.float32)},
             {'img_shape': (48, 64, 3), 'scale_factor': np.array([.5] * 4, dtype=np.float32)}]
    with torch.no_grad():
        raw = head.get_bboxes(cls_scores, bbox_preds, metas, rescale=False)
        rescaled = head.get_bboxes(cls_scores, bbox_preds, metas, rescale=True)
    for (bboxes, labels), (scaled, scaled_labels), meta in zip(raw, rescaled, metas, strict=True):
        assert bboxes.shape[1] == 5 and 0 < len(bboxes) <= TEST_CFG['max_per_img']
        assert bboxes[:, 0].min() >= 0 and bboxes[:, 3].max() <= meta['img_shape'][0]
        assert (bboxes[:, 4] > TEST_CFG['score_thr']).all()
        assert labels.min() >= 0 and labels.max() < NUM_CLASSES
        torch.testing.assert_close(scaled[:, :4], bboxes[:, :4] / float(meta['scale_factor'][0]))
        assert torch.equal(scaled_labels, labels)
    results = head.results_to_numpy(rescaled)
    assert len(results) == 2 and len(results[0]) == NUM_CLASSES
    assert all(r.dtype == np.float32 and r.ndim == 2 and r.shape[1] == 5 for r in results[0])
    assert sum(len(r) for r in results[0]) == len(rescaled[0][0])


@pytest.mark.parametrize('reg_decoded_bbox, pos_weight', [(True, -1.), (False, 2.5),
                                                           (True, 0.5)])
def test_reg_decoded_bbox_and_pos_weight_equal_the_reference(reg_decoded_bbox, pos_weight):
    g = torch.Generator().manual_seed(4)
    head = build_head(reg_decoded_bbox=reg_decoded_bbox,
                      train_cfg=dict(TRAIN_CFG, pos_weight=pos_weight))
    cls_scores, bbox_preds = random_outputs(head, 2, g)
    gt_bboxes, gt_labels = random_gts((2, 1), g)
    losses = head.loss(cls_scores, bbox_preds, gt_bboxes, gt_labels, [{}, {}])
    anchors = torch.cat(head.prior_generator.grid_priors(FEAT_SIZES))
    ref_cls, ref_bbox = reference_loss(anchors, cls_scores, bbox_preds, gt_bboxes, gt_labels,
                                       pos_weight, reg_decoded_bbox)
    torch.testing.assert_close(losses['loss_cls'], torch.as_tensor(ref_cls), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(losses['loss_bbox'], torch.as_tensor(ref_bbox), rtol=1e-5,
                               atol=1e-6)
    # the options change the loss: neither is silently ignored
    plain_cls, plain_bbox = reference_loss(anchors, cls_scores, bbox_preds, gt_bboxes,
                                           gt_labels)
    assert (not torch.isclose(losses['loss_cls'], plain_cls)) == (pos_weight > 0)
    assert (not torch.isclose(losses['loss_bbox'], plain_bbox)) == reg_decoded_bbox
    grads = torch.autograd.grad(losses['loss_cls'] + losses['loss_bbox'],
                                cls_scores + bbox_preds)
    ref_grads = torch.autograd.grad(ref_cls + ref_bbox, cls_scores + bbox_preds)
    for grad, ref_grad in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(grad, ref_grad, rtol=1e-5, atol=1e-7)


def test_allowed_border_is_rejected():
    with pytest.raises(ValueError, match='allowed_border'):
        build_head(train_cfg=dict(TRAIN_CFG, allowed_border=0))


def test_all_images_without_gts_give_finite_background_only_loss():
    """mmdetection 2.x semantics: negatives are mined ``neg_pos_ratio`` per positive, so a
    batch without any ground truth mines no negative and both terms are exactly 0 (mmdet's
    own SSD test asserts ``empty_cls_loss == 0``); the loss and gradients stay finite."""
    g = torch.Generator().manual_seed(5)
    head = build_head()
    cls_scores, bbox_preds = random_outputs(head, 3, g)
    empty = [torch.zeros((0, 4))] * 3
    losses = head.loss(cls_scores, bbox_preds, empty, [torch.zeros(0, dtype=torch.long)] * 3,
                       [{}] * 3)
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_bbox'] == 0 and losses['loss_cls'] == 0
    grads = torch.autograd.grad(losses['loss_cls'] + losses['loss_bbox'],
                                cls_scores + bbox_preds, allow_unused=True)
    assert all(grad is None or (torch.isfinite(grad).all() and not grad.any())
               for grad in grads)
    targets = head.get_targets(torch.cat(head.prior_generator.grid_priors(FEAT_SIZES)), empty,
                               [torch.zeros(0, dtype=torch.long)] * 3)
    assert (targets.labels == NUM_CLASSES).all() and not targets.bbox_weights.any()
    assert (targets.label_weights == 1).all() and targets.num_total_pos == 3
