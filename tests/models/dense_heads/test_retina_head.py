"""RetinaHead: batched focal/L1 loss equals a plain per-image reference (torchvision's focal
loss), octave anchors, prior-probability init, sigmoid post-processing, mmdet names."""
from __future__ import annotations

import math

import pytest
import torch
from mmengine.config import Config
from test_ssd_head import encode, flatten_levels, random_gts  # same directory
from torchvision.ops import box_iou, sigmoid_focal_loss

from mmssd.registry import MODELS

REPO_CONFIG = 'configs/_base_/models/retinanet_r50_fpn.py'
NUM_CLASSES = 3
STRIDES = [8, 16]
FEAT_SIZES = [(8, 8), (4, 4)]
TRAIN_CFG = {'assigner': {'type': 'MaxIoUAssigner', 'pos_iou_thr': 0.5, 'neg_iou_thr': 0.4,
                          'min_pos_iou': 0, 'ignore_iof_thr': -1},
             'allowed_border': -1, 'pos_weight': -1, 'debug': False}
TEST_CFG = {'nms_pre': 1000, 'min_bbox_size': 0, 'score_thr': 0.05,
            'nms': {'type': 'nms', 'iou_threshold': 0.5}, 'max_per_img': 100}


def build_head(**kwargs):
    cfg = {'type': 'RetinaHead', 'num_classes': NUM_CLASSES, 'in_channels': 8,
           'stacked_convs': 2, 'feat_channels': 8,
           'anchor_generator': {'type': 'AnchorGenerator', 'octave_base_scale': 2,
                                'scales_per_octave': 2, 'ratios': [0.5, 1.0, 2.0],
                                'strides': STRIDES},
           'train_cfg': TRAIN_CFG, 'test_cfg': TEST_CFG}
    cfg.update(kwargs)
    return MODELS.build(cfg)


def reference_loss(anchors, cls_scores, bbox_preds, gt_bboxes, gt_labels):
    """mmdetection 2.x's RetinaNet loss, one image at a time."""
    all_cls = flatten_levels(cls_scores, NUM_CLASSES)
    all_reg = flatten_levels(bbox_preds, 4)
    n = len(anchors)
    per_image = []
    for gts, labels_in in zip(gt_bboxes, gt_labels, strict=True):
        assigned = torch.zeros(n, dtype=torch.long)
        if len(gts):
            iou = box_iou(gts, anchors)
            max_iou, argmax = iou.max(dim=0)
            assigned = torch.full((n,), -1, dtype=torch.long)
            assigned[max_iou < 0.4] = 0
            assigned[max_iou >= 0.5] = argmax[max_iou >= 0.5] + 1
            for i in range(len(gts)):  # low-quality matches, every anchor at the gt's max
                assigned[iou[i] == iou[i].max()] = i + 1
        pos = assigned > 0
        targets = torch.zeros(n, NUM_CLASSES)
        targets[pos, labels_in[assigned[pos] - 1]] = 1
        deltas = torch.zeros(n, 4)
        if pos.any():
            deltas[pos] = encode(anchors[pos], gts[assigned[pos] - 1], stds=(1., 1., 1., 1.))
        per_image.append((targets, assigned >= 0, deltas, pos))
    avg = sum(max(int(p.sum()), 1) for *_, p in per_image)
    loss_cls = loss_bbox = 0.
    for i, (targets, valid, deltas, pos) in enumerate(per_image):
        focal = sigmoid_focal_loss(all_cls[i], targets, alpha=0.25, gamma=2.0, reduction='none')
        loss_cls = loss_cls + focal[valid].sum() / avg
        loss_bbox = loss_bbox + (all_reg[i] - deltas)[pos].abs().sum() / avg
    return loss_cls, loss_bbox


@pytest.mark.parametrize('counts', [(3, 1, 0), (0, 0), (5, 2)])
def test_batched_loss_equals_per_image_reference(counts):
    g = torch.Generator().manual_seed(sum(counts) + len(counts))
    head = build_head()
    feats = [torch.randn(len(counts), 8, h, w, generator=g) for h, w in FEAT_SIZES]
    cls_scores, bbox_preds = head(feats)
    gt_bboxes, gt_labels = random_gts(counts, g, NUM_CLASSES, min_size=6, size_range=24)
    metas = [{'img_shape': (64, 64, 3)}] * len(counts)
    losses = head.loss(cls_scores, bbox_preds, gt_bboxes, gt_labels, metas)
    anchors = torch.cat(head.prior_generator.grid_priors(FEAT_SIZES))
    ref_cls, ref_bbox = reference_loss(anchors, cls_scores, bbox_preds, gt_bboxes, gt_labels)
    torch.testing.assert_close(losses['loss_cls'], torch.as_tensor(ref_cls), rtol=1e-5,
                               atol=1e-6)
    torch.testing.assert_close(losses['loss_bbox'], torch.as_tensor(ref_bbox), rtol=1e-5,
                               atol=1e-6)
    if sum(counts) == 0:
        assert losses['loss_bbox'] == 0 and losses['loss_cls'] > 0
    sum(losses.values()).backward()
    assert head.retina_cls.weight.grad.abs().sum() > 0


def test_layers_shapes_octave_anchors_and_init():
    head = build_head()
    head.init_weights()
    assert head.num_base_priors == [6, 6]  # 2 octave scales x 3 ratios
    base = head.prior_generator.base_anchors[0]
    sides = sorted({round(float(w), 3) for w in base[:, 2] - base[:, 0]})
    square = [round(8 * 2 * 2 ** (i / 2), 3) for i in range(2)]  # stride * octave scale
    assert all(s in sides for s in square)
    assert len(head.cls_convs) == len(head.reg_convs) == 2
    torch.testing.assert_close(head.retina_cls.bias,
                               torch.full((18,), -math.log(99.)), rtol=1e-5, atol=1e-5)
    cls_scores, bbox_preds = head([torch.rand(2, 8, h, w) for h, w in FEAT_SIZES])
    assert [tuple(c.shape) for c in cls_scores] == [(2, 18, 8, 8), (2, 18, 4, 4)]
    assert [tuple(b.shape) for b in bbox_preds] == [(2, 24, 8, 8), (2, 24, 4, 4)]


def test_levels_with_different_anchor_counts_are_refused():
    with pytest.raises(ValueError, match='same anchors per location'):
        build_head(anchor_generator={'type': 'SSDAnchorGenerator', 'strides': STRIDES,
                                     'ratios': [[2], [2, 3]], 'min_sizes': [8, 16],
                                     'max_sizes': [16, 32], 'input_size': 64})


def test_post_processing_uses_sigmoid_scores():
    head = build_head().eval()
    cls_scores = [torch.full((1, 18, h, w), -10.) for h, w in FEAT_SIZES]
    bbox_preds = [torch.zeros(1, 24, h, w) for h, w in FEAT_SIZES]
    # level 0, cell (row 2, col 3), anchor 4, class 2 -> channel 4 * C + 2
    cls_scores[0][0, 4 * NUM_CLASSES + 2, 2, 3] = 2.0
    metas = [{'img_shape': (64, 64, 3), 'scale_factor': [2., 2., 2., 2.]}]
    (dets, labels), = head.get_bboxes(cls_scores, bbox_preds, metas)
    assert labels.tolist() == [2]
    torch.testing.assert_close(dets[0, 4], torch.sigmoid(torch.tensor(2.0)))
    anchors = head.prior_generator.grid_priors(FEAT_SIZES)[0]
    expected = anchors[(2 * 8 + 3) * 6 + 4].clamp(0, 64) / 2  # zero deltas, clipped, rescaled
    torch.testing.assert_close(dets[0, :4], expected)
    numpy_result = head.results_to_numpy([(dets, labels)])[0]
    assert len(numpy_result) == NUM_CLASSES and numpy_result[2].shape == (1, 5)


def test_retinanet_r50_config_has_mmdetection_names_and_shapes():
    cfg = Config.fromfile(REPO_CONFIG)
    model = MODELS.build(cfg.model)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert type(model).__name__ == 'RetinaNet'
    assert shapes['bbox_head.retina_cls.weight'] == (720, 256, 3, 3)  # 9 anchors x 80
    assert shapes['bbox_head.retina_reg.weight'] == (36, 256, 3, 3)
    assert shapes['bbox_head.cls_convs.3.conv.weight'] == (256, 256, 3, 3)
    assert shapes['neck.fpn_convs.3.conv.weight'] == (256, 2048, 3, 3)
    assert shapes['backbone.layer4.2.bn3.running_var'] == (2048,)
    # frozen_stages=1: the stem and layer1 do not train
    assert not model.backbone.layer1[0].conv1.weight.requires_grad
