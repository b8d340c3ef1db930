"""StandardRoIHead against a straightforward per-image implementation: mmdetection's
assign-sample-forward-loss image by image (same sampler seed), and test-time decoding,
clipping, rescaling and per-class NMS written out with torchvision's batched_nms."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import batched_nms

from mmssd.models.roi_heads import StandardRoIHead
from mmssd.models.roi_heads.base_roi_head import assign_and_sample, sampled_rois
from mmssd.models.utils import bbox2result
from mmssd.utils.config_error import ConfigError

NUM_CLASSES = 3
STDS = torch.tensor([0.1, 0.1, 0.2, 0.2])
TEST_CFG = dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=12)
METAS = [dict(img_shape=(64, 60, 3), scale_factor=np.array([2., 1.5, 2., 1.5], np.float32)),
         dict(img_shape=(56, 64, 3), scale_factor=np.array([0.5, 0.5, 0.5, 0.5], np.float32))]


def build_head(reg_class_agnostic=False, reg_decoded_bbox=False, loss_bbox=None,
               pos_weight=-1, train=True) -> StandardRoIHead:
    train_cfg = dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
                      match_low_quality=False, ignore_iof_thr=-1),
        sampler=dict(type='RandomSampler', num=16, pos_fraction=0.25, neg_pos_ub=-1,
                     add_gt_as_proposals=True),
        pos_weight=pos_weight, debug=False)
    head = StandardRoIHead(
        bbox_roi_extractor=dict(type='SingleRoIExtractor', out_channels=4, finest_scale=16,
                                roi_layer=dict(type='RoIAlign', output_size=4, sampling_ratio=0),
                                featmap_strides=[4, 8]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=4, fc_out_channels=16,
                       roi_feat_size=4, num_classes=NUM_CLASSES,
                       reg_class_agnostic=reg_class_agnostic, reg_decoded_bbox=reg_decoded_bbox,
                       loss_bbox=loss_bbox or dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=train_cfg if train else None, test_cfg=TEST_CFG)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # weights large enough for distinct scores and real deltas
        for param in head.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
    return head


def make_batch(empty_second_gt: bool = False):
    generator = torch.Generator().manual_seed(3)
    feats = [torch.randn(2, 4, 16, 16, generator=generator),
             torch.randn(2, 4, 8, 8, generator=generator)]
    gts = [torch.tensor([[4., 6., 30., 40.], [20., 10., 58., 30.], [35., 35., 55., 60.]]),
           torch.tensor([[2., 2., 12., 16.], [10., 20., 60., 54.]])]
    labels = [torch.tensor([2, 0, 1]), torch.tensor([1, 2])]
    if empty_second_gt:
        gts[1], labels[1] = gts[1][:0], labels[1][:0]
    proposals = []
    for boxes, num_random in zip(gts, (30, 20)):
        jitter = boxes.repeat(6, 1) + torch.randn(len(boxes) * 6, 4, generator=generator) * 3
        xy = torch.rand(num_random, 2, generator=generator) * 50
        wh = torch.rand(num_random, 2, generator=generator) * 30 + 3
        props = torch.cat([jitter, torch.cat([xy, xy + wh], 1)])
        props = torch.cat([props[:, :2], torch.max(props[:, 2:], props[:, :2] + 1)], 1)
        proposals.append(torch.cat([props, torch.rand(len(props), 1, generator=generator)], 1))
    return feats, gts, labels, proposals


def encode(proposals, gt):
    pwh, gwh = proposals[:, 2:] - proposals[:, :2], gt[:, 2:] - gt[:, :2]
    pxy, gxy = proposals[:, :2] + pwh / 2, gt[:, :2] + gwh / 2
    return torch.cat([(gxy - pxy) / pwh, torch.log(gwh / pwh)], 1) / STDS


def decode(rois, deltas):
    """``rois (n, 1, 4)`` or ``(n, 4)``, deltas broadcast to them."""
    deltas = deltas * STDS
    pwh = rois[..., 2:] - rois[..., :2]
    pxy = rois[..., :2] + pwh / 2
    dwh = deltas[..., 2:].clamp(-abs(math.log(16 / 1000)), abs(math.log(16 / 1000)))
    xy, wh = pxy + pwh * deltas[..., :2], pwh * dwh.exp()
    return torch.cat([xy - wh / 2, xy + wh / 2], -1)


def head_outputs_of_image(head, feats, index, boxes):
    rois = torch.cat([boxes.new_zeros(len(boxes), 1), boxes[:, :4]], 1)
    return head.bbox_head(head.bbox_roi_extractor([f[index:index + 1] for f in feats], rois))


def reference_loss(head, feats, gts, labels, proposals, seed, beta=None):
    """mmdetection's flow, one image at a time; sums reduced over the whole batch."""
    torch.manual_seed(seed)
    agnostic = head.bbox_head.reg_class_agnostic
    decoded = head.bbox_head.reg_decoded_bbox
    pos_weight = head.train_cfg['pos_weight']
    pos_weight = 1.0 if pos_weight <= 0 else pos_weight
    ce_sum = reg_sum = torch.zeros(())
    num_weighted = num_rois = num_correct = 0
    for i in range(len(gts)):
        props = proposals[i][:, :4]
        assign = head.bbox_assigner.assign(props, gts[i], None, labels[i])
        res = head.bbox_sampler.sample(assign, props, gts[i], labels[i])
        num_pos, num_neg = len(res.pos_inds), len(res.neg_inds)
        boxes = torch.cat([res.pos_bboxes, res.neg_bboxes])
        cls_score, bbox_pred = head_outputs_of_image(head, feats, i, boxes)
        target = torch.cat([assign.labels[res.pos_inds], torch.full((num_neg,), NUM_CLASSES)])
        weight = torch.cat([torch.full((num_pos,), pos_weight), torch.ones(num_neg)])
        ce_sum = ce_sum + (F.cross_entropy(cls_score, target, reduction='none') * weight).sum()
        num_weighted += int((weight > 0).sum())
        num_correct += int((cls_score.argmax(1) == target).sum())
        num_rois += len(boxes)
        if num_pos:
            pred = bbox_pred[:num_pos].view(num_pos, -1, 4)
            pred = pred[:, 0] if agnostic else pred[torch.arange(num_pos), target[:num_pos]]
            if decoded:
                pred, reg_target = decode(res.pos_bboxes, pred), res.pos_gt_bboxes
            else:
                reg_target = encode(res.pos_bboxes, res.pos_gt_bboxes)
            diff = (pred - reg_target).abs()
            if beta is not None:
                diff = torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)
            reg_sum = reg_sum + diff.sum()
    return {'loss_cls': ce_sum / max(num_weighted, 1), 'loss_bbox': reg_sum / num_rois,
            'acc': torch.tensor(100.0 * num_correct / num_rois)}


@pytest.mark.parametrize('agnostic,decoded,smooth_beta,pos_weight,empty_gt', [
    (False, False, None, -1, False),
    (True, False, None, -1, False),
    (False, False, 1.0, 2.0, True),
    (True, True, None, -1, False),
    (False, True, 0.5, -1, True),
])
def test_loss_equals_per_image_reference(agnostic, decoded, smooth_beta, pos_weight, empty_gt):
    loss_bbox = (dict(type='SmoothL1Loss', beta=smooth_beta, loss_weight=1.0) if smooth_beta
                 else dict(type='L1Loss', loss_weight=1.0))
    head = build_head(agnostic, decoded, loss_bbox, pos_weight)
    feats, gts, labels, proposals = make_batch(empty_gt)
    for seed in (0, 1):
        torch.manual_seed(seed)
        losses = head.forward_train(feats, METAS, proposals, gts, labels)
        expected = reference_loss(head, feats, gts, labels, proposals, seed, smooth_beta)
        assert set(losses) == {'loss_cls', 'loss_bbox', 'acc'}
        for key in expected:
            torch.testing.assert_close(losses[key], expected[key], rtol=1e-5, atol=1e-6)
        assert losses['loss_bbox'] > 0 and losses['loss_cls'] > 0
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    assert head.bbox_head.fc_reg.weight.grad.abs().sum() > 0


def test_sampling_is_random_subsets_and_targets_split_per_image():
    head = build_head()
    feats, gts, labels, proposals = make_batch()
    torch.manual_seed(0)
    results = assign_and_sample(head.bbox_assigner, head.bbox_sampler, proposals, gts, labels)
    # more candidates than the budget: exactly 4 positives and 12 negatives per image
    assert [len(r.pos_inds) for r in results] == [4, 4]
    assert [len(r.neg_inds) for r in results] == [12, 12]
    rois = sampled_rois(results)
    assert rois[:, 0].tolist() == [0.] * 16 + [1.] * 16
    concat = head.bbox_head.get_targets(results, gts, labels, head.train_cfg)
    split = head.bbox_head.get_targets(results, gts, labels, head.train_cfg, concat=False)
    for whole, parts in zip(concat, split):
        assert [len(p) for p in parts] == [16, 16]
        torch.testing.assert_close(torch.cat(parts), whole)
    assert concat[0].tolist() == (labels[0][results[0].pos_assigned_gt_inds].tolist() + [3] * 12
                                  + labels[1][results[1].pos_assigned_gt_inds].tolist() + [3] * 12)


def test_loss_with_images_without_proposals_or_ground_truths():
    head = build_head()
    feats, gts, labels, proposals = make_batch()
    proposals = [proposals[0][:0], proposals[1]]  # image 0: only its ground truths as RoIs
    torch.manual_seed(0)
    losses = head.forward_train(feats, METAS, proposals, gts, labels)
    expected = reference_loss(head, feats, gts, labels, proposals, 0)
    for key in expected:
        torch.testing.assert_close(losses[key], expected[key], rtol=1e-5, atol=1e-6)
    nothing = head.forward_train(feats, METAS, [p[:0] for p in proposals], [g[:0] for g in gts],
                                 [lb[:0] for lb in labels])  # no RoI at all: zeros, a graph
    assert all(float(v.detach()) == 0 for v in nothing.values())
    (nothing['loss_cls'] + nothing['loss_bbox']).backward()


def reference_detections(head, feats, proposals, rescale):
    """Per image: softmax, decode every class, clip, rescale, per-class NMS via batched_nms."""
    out = []
    for i, meta in enumerate(METAS):
        props = proposals[i][:, :4]
        cls_score, bbox_pred = head_outputs_of_image(head, feats, i, props)
        scores = cls_score.softmax(-1)[:, :NUM_CLASSES]
        boxes = decode(props[:, None, :], bbox_pred.view(len(props), -1, 4))
        h, w = meta['img_shape'][:2]
        boxes = torch.stack([boxes[..., 0].clamp(0, w), boxes[..., 1].clamp(0, h),
                             boxes[..., 2].clamp(0, w), boxes[..., 3].clamp(0, h)], -1)
        if rescale:
            boxes = boxes / torch.from_numpy(meta['scale_factor'])
        boxes = boxes.expand(len(props), NUM_CLASSES, 4)
        box_inds, classes = (scores > TEST_CFG['score_thr']).nonzero(as_tuple=True)
        cand_boxes, cand_scores = boxes[box_inds, classes], scores[box_inds, classes]
        keep = batched_nms(cand_boxes, cand_scores, classes, 0.5)[:TEST_CFG['max_per_img']]
        out.append((torch.cat([cand_boxes[keep], cand_scores[keep, None]], 1), classes[keep]))
    return out


@pytest.mark.parametrize('agnostic,rescale', [(False, True), (True, False)])
def test_detections_equal_per_image_reference(agnostic, rescale):
    head = build_head(agnostic, train=False)
    feats, _, _, proposals = make_batch()
    proposals[1] = proposals[1][:, :4]  # (n, 4) proposals work as well as (n, 5)
    with torch.no_grad():
        det_bboxes, det_labels = head.simple_test_bboxes(feats, METAS, proposals, TEST_CFG,
                                                         rescale=rescale)
        expected = reference_detections(head, feats, proposals, rescale)
    for bboxes, labels, (exp_bboxes, exp_labels) in zip(det_bboxes, det_labels, expected):
        assert len(bboxes) == TEST_CFG['max_per_img']  # enough candidates to truncate
        torch.testing.assert_close(bboxes, exp_bboxes, rtol=1e-5, atol=1e-4)
        assert labels.tolist() == exp_labels.tolist()
        assert len(set(labels.tolist())) > 1
    # the single-image API (used by cascades) gives the same
    with torch.no_grad():
        cls_score, bbox_pred = head_outputs_of_image(head, feats, 0, proposals[0])
        rois = torch.cat([torch.zeros(len(proposals[0]), 1), proposals[0][:, :4]], 1)
        single = head.bbox_head.get_bboxes(rois, cls_score, bbox_pred, METAS[0]['img_shape'],
                                           METAS[0]['scale_factor'], rescale, TEST_CFG)
    torch.testing.assert_close(single[0], det_bboxes[0], rtol=1e-5, atol=1e-4)


def test_simple_test_formats_results_and_handles_empty_proposals():
    head = build_head(train=False)
    feats, _, _, proposals = make_batch()
    with torch.no_grad():
        results = head.simple_test(feats, proposals, METAS)
        det_bboxes, det_labels = head.simple_test_bboxes(feats, METAS, proposals, TEST_CFG,
                                                         rescale=True)
    assert len(results) == 2 and all(len(r) == NUM_CLASSES for r in results)
    for result, bboxes, labels in zip(results, det_bboxes, det_labels):
        for got, want in zip(result, bbox2result(bboxes, labels, NUM_CLASSES)):
            assert got.dtype == np.float32 and got.shape[1] == 5
            np.testing.assert_array_equal(got, want)
    with torch.no_grad():
        empty = head.simple_test(feats, [proposals[0], proposals[1][:0]], METAS)
        none = head.simple_test(feats, [proposals[0][:0], proposals[1][:0]], METAS)
    assert sum(len(a) for a in empty[0]) > 0 and sum(len(a) for a in empty[1]) == 0
    assert all(a.shape == (0, 5) for r in none for a in r)


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(shared_head=dict(type='ResLayer')), NotImplementedError, 'shared_head'),
    (dict(mask_head=dict(type='FCNMaskHead')), NotImplementedError, 'mask_head'),
    (dict(mask_roi_extractor=dict(type='SingleRoIExtractor')), NotImplementedError,
     'mask_roi_extractor'),
    (dict(train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=.5, neg_iou_thr=.5),
                         sampler=dict(type='RandomSampler', num=8, pos_fraction=.25),
                         mask_size=28)), NotImplementedError, 'mask_size'),
    (dict(train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=.5, neg_iou_thr=.5),
                         sampler=dict(type='RandomSampler', num=8, pos_fraction=.25),
                         pos_weigth=1)), ConfigError,
     "`train_cfg.pos_weigth`; did you mean 'pos_weight'"),
    (dict(train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=.5, neg_iou_thr=.5))),
     ConfigError, '`train_cfg.sampler` is missing'),
    (dict(test_cfg=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                        max_per_img=100, mask_thr_binary=0.5)), NotImplementedError,
     'mask_thr_binary'),
    (dict(bbox_head=None), ValueError, 'bbox_head'),
])
def test_bad_configs_raise(kwargs, error, match):
    cfg = dict(bbox_roi_extractor=dict(type='SingleRoIExtractor', out_channels=4,
                                       roi_layer=dict(type='RoIAlign', output_size=4),
                                       featmap_strides=[4]),
               bbox_head=dict(type='Shared2FCBBoxHead', in_channels=4, fc_out_channels=8,
                              roi_feat_size=4, num_classes=2))
    cfg.update(kwargs)
    with pytest.raises(error, match=match):
        StandardRoIHead(**cfg)


def test_forward_train_needs_train_cfg_and_rejects_masks():
    head = build_head(train=False)
    feats, gts, labels, proposals = make_batch()
    with pytest.raises(RuntimeError, match='train_cfg'):
        head.forward_train(feats, METAS, proposals, gts, labels)
    with pytest.raises(NotImplementedError, match='gt_masks'):
        build_head().forward_train(feats, METAS, proposals, gts, labels, gt_masks=[1, 2])
