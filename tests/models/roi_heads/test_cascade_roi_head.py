"""CascadeRoIHead's stage logic against computations written out here: the proposals each
stage hands on are the decoding of its own regression with its own coder (added ground
truths removed); at test the class scores are the softmax of the stages' mean logits and
the boxes the last stage's regression of the refined RoIs; ``stage_loss_weights`` scale
each stage's losses."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_standard_roi_head import make_batch  # same directory (on sys.path)

from mmssd.models.roi_heads import CascadeRoIHead
from mmssd.models.utils import bbox2roi

NUM_CLASSES = 3
STDS = ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067])
IOUS = (0.5, 0.6, 0.7)
TEST_CFG = dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=12)
METAS = [dict(img_shape=(64, 60, 3), scale_factor=np.array([2., 1.5, 2., 1.5], np.float32)),
         dict(img_shape=(56, 64, 3), scale_factor=np.array([0.5, 0.5, 0.5, 0.5], np.float32))]


def stage_train_cfg(iou: float) -> dict:
    return dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=iou, neg_iou_thr=iou, min_pos_iou=iou,
                      match_low_quality=False, ignore_iof_thr=-1),
        sampler=dict(type='RandomSampler', num=16, pos_fraction=0.25, neg_pos_ub=-1,
                     add_gt_as_proposals=True),
        pos_weight=-1, debug=False)


def build_head(stage_loss_weights=(1, 0.5, 0.25), agnostic=True, **overrides) -> CascadeRoIHead:
    heads = [dict(type='Shared2FCBBoxHead', in_channels=4, fc_out_channels=16, roi_feat_size=4,
                  num_classes=NUM_CLASSES, reg_class_agnostic=agnostic,
                  bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                  target_stds=stds),
                  loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
             for stds in STDS]
    kwargs = dict(
        num_stages=3, stage_loss_weights=list(stage_loss_weights),
        bbox_roi_extractor=dict(type='SingleRoIExtractor', out_channels=4, finest_scale=16,
                                roi_layer=dict(type='RoIAlign', output_size=4, sampling_ratio=0),
                                featmap_strides=[4, 8]),
        bbox_head=heads, train_cfg=[stage_train_cfg(iou) for iou in IOUS], test_cfg=TEST_CFG)
    head = CascadeRoIHead(**dict(kwargs, **overrides))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # weights large enough for distinct scores and real deltas
        for param in head.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
    return head


def decode(boxes: torch.Tensor, deltas: torch.Tensor, stds, img_shape) -> torch.Tensor:
    """mmdetection's delta2bbox for ``(n, 4)`` boxes, clipped to ``img_shape``."""
    deltas = deltas * torch.tensor(stds)
    wh = boxes[:, 2:] - boxes[:, :2]
    ctr = boxes[:, :2] + wh / 2
    limit = abs(math.log(16 / 1000))
    new_ctr = ctr + wh * deltas[:, :2]
    new_wh = wh * deltas[:, 2:].clamp(-limit, limit).exp()
    out = torch.cat([new_ctr - new_wh / 2, new_ctr + new_wh / 2], 1)
    h, w = img_shape[:2]
    return torch.stack([out[:, 0].clamp(0, w), out[:, 1].clamp(0, h),
                        out[:, 2].clamp(0, w), out[:, 3].clamp(0, h)], 1)


def record_stage_inputs(head: CascadeRoIHead) -> list[list[torch.Tensor]]:
    """Wrap each stage's assigner to record the proposals it receives, per stage per image."""
    seen: list[list[torch.Tensor]] = [[] for _ in range(head.num_stages)]
    for stage, assigner in enumerate(head.bbox_assigner):
        original = assigner.assign

        def assign(bboxes, *args, _stage=stage, _original=original, **kwargs):
            seen[_stage].append(bboxes.clone())
            return _original(bboxes, *args, **kwargs)
        assigner.assign = assign
    return seen


def record_stage_outputs(head: CascadeRoIHead) -> list[dict]:
    """Wrap each stage's box head forward to record its RoI outputs."""
    outputs: list[dict] = []
    for bbox_head in head.bbox_head:
        original = bbox_head.forward

        def forward(x, _original=original):
            cls_score, bbox_pred = _original(x)
            outputs.append(dict(cls_score=cls_score.detach(), bbox_pred=bbox_pred.detach()))
            return cls_score, bbox_pred
        bbox_head.forward = forward
    return outputs


@pytest.mark.parametrize('agnostic', [True, False])
def test_refined_proposals_are_the_stage_regression_decoded(agnostic):
    head = build_head(agnostic=agnostic)
    feats, gts, labels, proposals = make_batch()
    seen, outputs = record_stage_inputs(head), record_stage_outputs(head)
    sampled = []
    for sampler in head.bbox_sampler:  # record each stage's sampling results, in order
        def sample(*args, _original=sampler.sample, **kwargs):
            result = _original(*args, **kwargs)
            sampled.append(result)
            return result
        sampler.sample = sample
    torch.manual_seed(0)
    head.forward_train(feats, METAS, proposals, gts, labels)
    for stage in range(head.num_stages - 1):
        offset = 0
        results = sampled[stage * 2:(stage + 1) * 2]
        for img, res in enumerate(results):
            rois = torch.cat([res.pos_bboxes, res.neg_bboxes])
            n = len(rois)
            deltas = outputs[stage]['bbox_pred'][offset:offset + n]
            cls_score = outputs[stage]['cls_score'][offset:offset + n]
            offset += n
            # target class of positives, predicted foreground class of negatives
            cls = torch.cat([labels[img][res.pos_assigned_gt_inds],
                             cls_score[len(res.pos_bboxes):, :-1].argmax(1)])
            if not agnostic:
                deltas = deltas.view(n, NUM_CLASSES, 4)[torch.arange(n), cls]
            expected = decode(rois, deltas, STDS[stage], METAS[img]['img_shape'])
            keep = torch.ones(n, dtype=torch.bool)
            keep[:len(res.pos_is_gt)] = res.pos_is_gt == 0
            torch.testing.assert_close(seen[stage + 1][img], expected[keep])
            assert len(seen[stage + 1][img]) == n - int(res.pos_is_gt.sum())


def test_test_scores_are_softmax_of_mean_stage_logits_and_boxes_the_last_stage():
    head = build_head().eval()
    feats, _, _, proposals = make_batch()
    with torch.no_grad():
        bboxes, scores = head.simple_test_bboxes_raw(feats, METAS, proposals)
        # the stages written out one image at a time
        for img in range(2):
            img_feats = [f[img:img + 1] for f in feats]
            boxes = proposals[img][:, :4]
            logits = []
            for stage in range(3):
                rois = torch.cat([boxes.new_zeros(len(boxes), 1), boxes], 1)
                cls_score, bbox_pred = head.bbox_head[stage](
                    head.bbox_roi_extractor[stage](img_feats, rois))
                logits.append(cls_score)
                if stage < 2:
                    boxes = decode(boxes, bbox_pred, STDS[stage], METAS[img]['img_shape'])
            expected_scores = F.softmax(sum(logits) / 3, dim=1)
            expected_boxes = decode(boxes, bbox_pred, STDS[2], METAS[img]['img_shape'])
            torch.testing.assert_close(scores[img], expected_scores)
            torch.testing.assert_close(bboxes[img], expected_boxes)
            # and not the mean of the softmaxes (mmdetection averages logits)
            mean_softmax = sum(F.softmax(s, dim=1) for s in logits) / 3
            assert not torch.allclose(scores[img], mean_softmax, atol=1e-4)


def test_detections_and_bbox2result_format():
    head = build_head().eval()
    feats, _, _, proposals = make_batch()
    with torch.no_grad():
        results = head.simple_test(feats, proposals, METAS, rescale=True)
        dets, det_labels = head.simple_test_bboxes(feats, METAS, proposals, TEST_CFG,
                                                   rescale=True)
    assert len(results) == 2 and all(len(r) == NUM_CLASSES for r in results)
    for per_class, det, lab in zip(results, dets, det_labels):
        assert sum(len(a) for a in per_class) == len(det) <= TEST_CFG['max_per_img']
        assert all(a.dtype == np.float32 and a.shape[1:] == (5,) for a in per_class)
        assert (det[:, 4] >= TEST_CFG['score_thr']).all()
        assert lab.max() < NUM_CLASSES
    empty = head.simple_test_bboxes(feats, METAS, [p[:0] for p in proposals], TEST_CFG)
    assert [tuple(d.shape) for d in empty[0]] == [(0, 5), (0, 5)]


def test_stage_loss_weights_scale_each_stage():
    feats, gts, labels, proposals = make_batch()
    losses = {}
    for weights in ((1, 1, 1), (1, 0.5, 0.25)):
        head = build_head(stage_loss_weights=weights)
        torch.manual_seed(0)
        losses[weights] = head.forward_train(feats, METAS, proposals, gts, labels)
    unit, scaled = losses[(1, 1, 1)], losses[(1, 0.5, 0.25)]
    assert sorted(unit) == sorted(f's{s}.{k}' for s in range(3)
                                  for k in ('loss_cls', 'loss_bbox', 'acc'))
    for stage, weight in enumerate((1, 0.5, 0.25)):
        for name in ('loss_cls', 'loss_bbox'):
            key = f's{stage}.{name}'
            assert float(unit[key].detach()) > 0
            torch.testing.assert_close(scaled[key], unit[key] * weight)
        assert float(scaled[f's{stage}.acc']) == float(unit[f's{stage}.acc'])


def test_gradients_reach_every_stage_but_not_through_the_refinement():
    head = build_head()
    feats, gts, labels, proposals = make_batch()
    feats = [f.requires_grad_() for f in feats]
    torch.manual_seed(0)
    losses = head.forward_train(feats, METAS, proposals, gts, labels)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for stage in range(3):
        assert head.bbox_head[stage].fc_cls.weight.grad.abs().sum() > 0


def test_forward_tensor_runs_every_stage_on_the_same_boxes():
    head = build_head().eval()
    feats, _, _, proposals = make_batch()
    rois = bbox2roi(proposals)
    with torch.no_grad():
        outs = head.forward_tensor(feats, rois)
        assert len(outs) == 6
        assert all(o.shape[0] == len(rois) for o in outs)
        for stage in range(3):  # each stage on the given RoIs, not on refined ones
            cls_score, bbox_pred = head.bbox_head[stage](
                head.bbox_roi_extractor[stage](feats, rois))
            torch.testing.assert_close(outs[2 * stage], cls_score)
            torch.testing.assert_close(outs[2 * stage + 1], bbox_pred)


def test_simple_test_bboxes_needs_the_test_cfg():
    head = build_head().eval()
    feats, _, _, proposals = make_batch()
    with pytest.raises(ValueError, match='rcnn_test_cfg.*simple_test_bboxes_raw'):
        head.simple_test_bboxes(feats, METAS, proposals, None)
    raw_bboxes, raw_scores = head.simple_test_bboxes_raw(feats, METAS,
                                                         [p[:0] for p in proposals])
    assert [tuple(b.shape) for b in raw_bboxes] == [(0, 4), (0, 4)]
    assert [tuple(s.shape) for s in raw_scores] == [(0, NUM_CLASSES + 1)] * 2


@pytest.mark.parametrize('overrides, message', [
    (dict(stage_loss_weights=[1, 0.5]), 'stage_loss_weights'),
    (dict(train_cfg=stage_train_cfg(0.5)), 'list of 3 dicts'),
    (dict(train_cfg=[stage_train_cfg(0.5)] * 2), 'train_cfg.rcnn has 2 entries'),
    (dict(mask_head=dict(type='FCNMaskHead')), 'mask_head'),
    (dict(num_stages=0, stage_loss_weights=[]), 'num_stages'),
])
def test_config_errors_name_the_key(overrides, message):
    with pytest.raises((ValueError, NotImplementedError), match=message):
        build_head(**overrides)


def test_bbox_head_list_length_must_match():
    head = build_head()
    with pytest.raises(ValueError, match='bbox_head has 2 entries'):
        build_head(bbox_head=[dict(type='Shared2FCBBoxHead')] * 2)
    assert len(head.bbox_roi_extractor) == 3  # one shared config, built per stage


def test_refine_bboxes_rejects_rois_of_unknown_images():
    head = build_head()
    rois = bbox2roi([torch.tensor([[0., 0., 10., 10.]])] * 3)
    with pytest.raises(ValueError, match='3 images but 2 img_metas'):
        head.bbox_head[0].refine_bboxes(rois, torch.zeros(3, dtype=torch.long),
                                        torch.zeros(3, 4), [torch.zeros(0)] * 2, METAS)


def test_init_weights_reaches_every_stage():
    head = build_head()
    head.init_weights()
    for bbox_head in head.bbox_head:  # mmdetection's init: fc_cls normal std 0.01, bias 0
        assert float(bbox_head.fc_cls.weight.std()) == pytest.approx(0.01, rel=0.2)
        assert float(bbox_head.fc_reg.weight.std()) == pytest.approx(0.001, rel=0.2)
        assert float(bbox_head.fc_cls.bias.abs().max()) == 0
