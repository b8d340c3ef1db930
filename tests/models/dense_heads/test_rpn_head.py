"""RPNHead: batched targets and loss equal a per-image reference (same sampler draws, per
image allowed_border), proposals equal a per-image torchvision reference, mmdet names."""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from test_anchor_head import hand_inside_flags  # same directory
from test_ssd_head import encode, flatten_levels  # same directory
from torchvision.ops import batched_nms

from mmssd.models.dense_heads.rpn_head import ProposalCfg, resolve_proposal_cfg
from mmssd.registry import MODELS, TASK_UTILS
from mmssd.utils.config_error import ConfigError

REFERENCE = (Path(__file__).parents[3] / '..' / 'shared' / 'reference'
             / 'mmdet_two_stage_state_dicts.json')
STRIDES = [8, 16]
FEAT_SIZES = [(8, 8), (4, 4)]  # a batch padded to 64 x 64
METAS = [{'img_shape': (40, 52, 3), 'pad_shape': (48, 64, 3), 'scale_factor': [2.] * 4},
         {'img_shape': (64, 64, 3), 'pad_shape': (64, 64, 3), 'scale_factor': [1.] * 4},
         {'img_shape': (61, 27, 3), 'pad_shape': (64, 32, 3), 'scale_factor': [.5] * 4}]
ASSIGNER = {'type': 'MaxIoUAssigner', 'pos_iou_thr': 0.5, 'neg_iou_thr': 0.3,
            'min_pos_iou': 0.3, 'match_low_quality': True, 'ignore_iof_thr': -1}
SAMPLER = {'type': 'RandomSampler', 'num': 8, 'pos_fraction': 0.5, 'neg_pos_ub': -1,
           'add_gt_as_proposals': False}
TRAIN_CFG = {'assigner': ASSIGNER, 'sampler': SAMPLER, 'allowed_border': 0, 'pos_weight': -1,
             'debug': False}
TEST_CFG = {'nms_pre': 50, 'max_per_img': 20, 'nms': {'type': 'nms', 'iou_threshold': 0.5},
            'min_bbox_size': 4}
OLD_TEST_CFG = {'nms_across_levels': False, 'nms_pre': 50, 'nms_post': 20, 'max_num': 20,
                'nms_thr': 0.5, 'min_bbox_size': 4}


def build_head(**kwargs):
    cfg = {'type': 'RPNHead', 'in_channels': 4, 'feat_channels': 4,
           'anchor_generator': {'type': 'AnchorGenerator', 'scales': [2],
                                'ratios': [0.5, 1.0, 2.0], 'strides': STRIDES},
           'train_cfg': TRAIN_CFG, 'test_cfg': TEST_CFG}
    cfg.update(kwargs)
    return MODELS.build(cfg)


def random_gts(counts, g):
    """Per image ``counts[i]`` boxes inside that image's ``img_shape``."""
    gts = []
    for n, meta in zip(counts, METAS, strict=True):
        h, w = meta['img_shape'][:2]
        xy = torch.rand(n, 2, generator=g) * torch.tensor([w - 8., h - 8.])
        wh = torch.rand(n, 2, generator=g) * 24 + 6
        gts.append(torch.cat([xy, torch.minimum(xy + wh, torch.tensor([w, h]))], dim=1))
    return gts


def top_keys(candidates, keys, num):
    """The ``num`` candidate indices of largest key: RandomSampler.sample_batched's draw."""
    return candidates[keys[candidates].argsort(descending=True)[:num]]


def reference_targets(mlvl_anchors, gt_bboxes, seed, border=0):
    """mmdetection 2.x's RPN targets one image at a time: the image's inside anchors are
    assigned on their own (``MaxIoUAssigner.assign``), then ``num * pos_fraction``
    positives and the remaining budget of negatives are drawn with the random keys the
    batched sampler draws from the same seed. Also returns the positive candidates per image."""
    anchors = torch.cat(mlvl_anchors)
    num_anchors, batch = len(anchors), len(gt_bboxes)
    torch.manual_seed(seed)
    keys_pos, keys_neg = torch.rand(batch, num_anchors), torch.rand(batch, num_anchors)
    assigner = TASK_UTILS.build(ASSIGNER)
    out, candidates = [], []
    for i, gts in enumerate(gt_bboxes):
        inside = hand_inside_flags(mlvl_anchors, FEAT_SIZES, STRIDES, METAS[i], border)
        gt_inds = torch.full((num_anchors,), -1, dtype=torch.long)
        gt_inds[inside] = assigner.assign(anchors[inside], gts).gt_inds
        pos = top_keys((gt_inds > 0).nonzero().view(-1), keys_pos[i],
                       int(SAMPLER['num'] * SAMPLER['pos_fraction']))
        neg = top_keys((gt_inds == 0).nonzero().view(-1), keys_neg[i], SAMPLER['num'] - len(pos))
        labels = torch.ones(num_anchors, dtype=torch.long)  # background is 1 (num_classes)
        labels[pos] = 0
        weights = torch.zeros(num_anchors)
        weights[pos] = weights[neg] = 1
        deltas = torch.zeros(num_anchors, 4)
        deltas[pos] = encode(anchors[pos], gts[gt_inds[pos] - 1], stds=(1., 1., 1., 1.))
        out.append((labels, weights, deltas, len(pos), len(neg)))
        candidates.append(int((gt_inds > 0).sum()))
    return out, candidates


@pytest.mark.parametrize('counts,use_sigmoid', [((8, 0, 3), True), ((6, 1, 4), True),
                                                ((2, 5, 3), False)])
def test_targets_and_loss_equal_per_image_reference(counts, use_sigmoid):
    g = torch.Generator().manual_seed(sum(counts))
    head = build_head(loss_cls={'type': 'CrossEntropyLoss', 'use_sigmoid': use_sigmoid})
    feats = [torch.randn(3, 4, h, w, generator=g) for h, w in FEAT_SIZES]
    cls_scores, bbox_preds = head(feats)
    gt_bboxes = random_gts(counts, g)
    mlvl_anchors = head.prior_generator.grid_priors(FEAT_SIZES)
    ref, candidates = reference_targets(mlvl_anchors, gt_bboxes, seed=7)

    anchors = torch.cat(mlvl_anchors)
    torch.manual_seed(7)
    targets = head.get_targets(anchors, gt_bboxes, None,
                               prior_valid=head.prior_valid_mask(FEAT_SIZES, METAS, anchors))
    for i, (labels, weights, deltas, _, _) in enumerate(ref):
        assert torch.equal(targets.labels[i], labels)
        assert torch.equal(targets.label_weights[i], weights)
        torch.testing.assert_close(targets.bbox_targets[i], deltas)
    # every image with gts has positives; somewhere more than the sampler may draw
    assert [c > 0 for c in candidates] == [n > 0 for n in counts]
    assert max(candidates) > SAMPLER['num'] * SAMPLER['pos_fraction']

    torch.manual_seed(7)
    losses = head.loss(cls_scores, bbox_preds, gt_bboxes, None, METAS)
    avg = sum(max(p, 1) for *_, p, _ in ref) + sum(max(n, 1) for *_, n in ref)
    all_cls = flatten_levels(cls_scores, head.cls_out_channels)
    all_reg = flatten_levels(bbox_preds, 4)
    ref_cls = ref_bbox = 0.
    for i, (labels, weights, deltas, _, _) in enumerate(ref):
        if use_sigmoid:
            ce = F.binary_cross_entropy_with_logits(all_cls[i, :, 0], (labels == 0).float(),
                                                    reduction='none')
        else:
            ce = F.cross_entropy(all_cls[i], labels, reduction='none')
        ref_cls = ref_cls + (ce * weights).sum() / avg
        pos = (labels == 0)[:, None]
        ref_bbox = ref_bbox + ((all_reg[i] - deltas).abs() * pos).sum() / avg
    torch.testing.assert_close(losses['loss_rpn_cls'], ref_cls, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(losses['loss_rpn_bbox'], ref_bbox, rtol=1e-5, atol=1e-7)
    grads = torch.autograd.grad(losses['loss_rpn_cls'] + losses['loss_rpn_bbox'],
                                cls_scores + bbox_preds)
    ref_grads = torch.autograd.grad(ref_cls + ref_bbox, cls_scores + bbox_preds)
    for grad, ref_grad in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(grad, ref_grad, rtol=1e-5, atol=1e-7)


def test_no_ground_truth_anywhere_gives_background_only_loss():
    head = build_head(train_cfg=dict(TRAIN_CFG, allowed_border=-1, sampler=None))
    cls_scores, bbox_preds = head([torch.randn(3, 4, h, w) for h, w in FEAT_SIZES])
    losses = head.loss(cls_scores, bbox_preds, [torch.zeros(0, 4)] * 3, None, METAS)
    assert losses['loss_rpn_bbox'] == 0 and losses['loss_rpn_cls'] > 0
    # no sampler: every anchor is a negative; CE keeps mmdetection's average over pos + neg
    all_cls = flatten_levels(cls_scores, 1)[..., 0]
    want = F.binary_cross_entropy_with_logits(all_cls, torch.zeros_like(all_cls),
                                              reduction='sum') / (3 + all_cls.numel())
    torch.testing.assert_close(losses['loss_rpn_cls'], want)
    with pytest.raises(ValueError, match='gt_labels=None'):
        head.loss(cls_scores, bbox_preds, [torch.zeros(0, 4)] * 3,
                  [torch.zeros(0, dtype=torch.long)] * 3, METAS)


def decode(anchors, deltas, img_shape):
    """Deltas (means 0, stds 1) -> boxes clipped to ``img_shape``, written out plainly."""
    pxy, pwh = (anchors[:, :2] + anchors[:, 2:]) / 2, anchors[:, 2:] - anchors[:, :2]
    dwh = deltas[:, 2:].clamp(-abs(math.log(16 / 1000)), abs(math.log(16 / 1000)))
    gxy, gwh = pxy + pwh * deltas[:, :2], pwh * dwh.exp()
    boxes = torch.cat([gxy - gwh / 2, gxy + gwh / 2], dim=1)
    h, w = img_shape[:2]
    return torch.stack([boxes[:, 0].clamp(0, w), boxes[:, 1].clamp(0, h),
                        boxes[:, 2].clamp(0, w), boxes[:, 3].clamp(0, h)], dim=1)


def reference_proposals(head, cls_scores, bbox_preds, nms_pre, iou_threshold, min_bbox_size,
                        max_per_img, across_levels=False, softmax=False):
    """mmdetection 2.x's RPN proposals one image at a time, on torchvision's batched_nms.
    Also returns how many candidates min_bbox_size dropped and NMS kept, per image."""
    mlvl_anchors = head.prior_generator.grid_priors(FEAT_SIZES)
    results, dropped, kept = [], [], []
    for i, meta in enumerate(METAS):
        boxes, scores, ids = [], [], []
        for level, (cls, reg, anchors) in enumerate(zip(cls_scores, bbox_preds, mlvl_anchors,
                                                        strict=True)):
            if softmax:
                score = cls[i].permute(1, 2, 0).reshape(-1, 2).softmax(-1)[:, 0]
            else:
                score = cls[i].permute(1, 2, 0).reshape(-1).sigmoid()
            deltas = reg[i].permute(1, 2, 0).reshape(-1, 4)
            order = score.argsort(descending=True)[:nms_pre]
            boxes.append(decode(anchors[order], deltas[order], meta['img_shape']))
            scores.append(score[order])
            ids.append(torch.full((len(order),), level))
        boxes, scores, ids = torch.cat(boxes), torch.cat(scores), torch.cat(ids)
        wh = boxes[:, 2:] - boxes[:, :2]
        valid = (wh > min_bbox_size).all(1)
        boxes, scores, ids = boxes[valid], scores[valid], ids[valid]
        keep = batched_nms(boxes, scores, torch.zeros_like(ids) if across_levels else ids,
                           iou_threshold)
        dropped.append(int((~valid).sum()))
        kept.append(len(keep))
        keep = keep[:max_per_img]
        results.append(torch.cat([boxes[keep], scores[keep, None]], dim=1))
    return results, dropped, kept


def random_outputs(head, g):
    cls_scores = [torch.randn(3, 3 * head.cls_out_channels, h, w, generator=g)
                  for h, w in FEAT_SIZES]
    bbox_preds = [torch.randn(3, 12, h, w, generator=g) * 0.5 for h, w in FEAT_SIZES]
    return cls_scores, bbox_preds


@pytest.mark.parametrize('cfg', [TEST_CFG, OLD_TEST_CFG], ids=['2.14+ keys', 'old keys'])
@pytest.mark.parametrize('softmax', [False, True])
def test_proposals_equal_per_image_torchvision_reference(cfg, softmax):
    g = torch.Generator().manual_seed(3)
    head = build_head(loss_cls={'type': 'CrossEntropyLoss', 'use_sigmoid': not softmax})
    cls_scores, bbox_preds = random_outputs(head, g)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        proposals = head.get_proposals(cls_scores, bbox_preds, METAS,
                                       cfg=resolve_proposal_cfg(cfg))
    # mmdetection's deprecation warning for the old keys only
    assert any('nms_thr' in str(w.message) for w in caught) == ('nms_thr' in cfg)
    want, dropped, kept = reference_proposals(head, cls_scores, bbox_preds, 50, 0.5, 4, 20,
                                              softmax=softmax)
    for got, ref in zip(proposals, want, strict=True):
        torch.testing.assert_close(got, ref)
    # the test exercises each step: small boxes dropped, NMS output cut to max_per_img
    assert min(dropped) > 0 and min(kept) > 20


def test_nms_across_levels_and_test_cfg_rescale():
    g = torch.Generator().manual_seed(4)
    head = build_head()
    cls_scores, bbox_preds = random_outputs(head, g)
    with pytest.warns(UserWarning):
        across = head.get_proposals(cls_scores, bbox_preds, METAS, cfg=resolve_proposal_cfg(
            dict(OLD_TEST_CFG, nms_across_levels=True, max_num=200)))
    want, _, _ = reference_proposals(head, cls_scores, bbox_preds, 50, 0.5, 4, 200,
                                     across_levels=True)
    per_level, _, _ = reference_proposals(head, cls_scores, bbox_preds, 50, 0.5, 4, 200)
    assert sum(len(w) for w in want) < sum(len(p) for p in per_level)
    for got, ref in zip(across, want, strict=True):
        torch.testing.assert_close(got, ref)
    plain = head.get_proposals(cls_scores, bbox_preds, METAS)
    rescaled = head.get_proposals(cls_scores, bbox_preds, METAS, rescale=True)
    for p, r, meta in zip(plain, rescaled, METAS, strict=True):
        torch.testing.assert_close(r[:, :4], p[:, :4] / meta['scale_factor'][0])
        torch.testing.assert_close(r[:, 4], p[:, 4])


@pytest.mark.parametrize('cfg,error,match', [
    (dict(TEST_CFG, score_thr=0.05), ConfigError, '`test_cfg.score_thr`'),
    (dict(TEST_CFG, nms_thr=0.7), ValueError, 'nms_thr'),
    (dict(TEST_CFG, max_num=30), ValueError, 'max_num'),
    ({'nms_pre': 10, 'max_per_img': 5}, ConfigError, '`test_cfg.nms.iou_threshold` is missing'),
    (dict(TEST_CFG, nms={'type': 'soft_nms', 'iou_threshold': 0.5}), ValueError, 'soft_nms'),
])
def test_bad_proposal_configs_raise_naming_the_key(cfg, error, match):
    """Raised when the head is built (the proposal configs are resolved there)."""
    with pytest.raises(error, match=match), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        build_head(test_cfg=cfg)
    with pytest.raises(error, match=match.replace('test_cfg', 'proposal_cfg')), \
            warnings.catch_warnings():
        warnings.simplefilter('ignore')
        build_head(proposal_cfg=cfg)


def test_proposal_configs_are_resolved_when_the_head_is_built():
    """``test_cfg`` and ``proposal_cfg`` become :class:`ProposalCfg` settings once, at
    build (the old keys warn then, and give the same settings as the new ones)."""
    head = build_head()
    assert head.test_proposal_cfg == ProposalCfg(50, 0.5, False, 20, 4.0)
    assert head.train_proposal_cfg is head.test_proposal_cfg  # default: test_cfg's
    with pytest.warns(UserWarning, match='nms_thr'):
        old = build_head(test_cfg=OLD_TEST_CFG, proposal_cfg=dict(OLD_TEST_CFG, max_num=30,
                                                                  nms_post=30))
    assert old.test_proposal_cfg == head.test_proposal_cfg
    assert old.train_proposal_cfg == ProposalCfg(50, 0.5, False, 30, 4.0)
    assert build_head(test_cfg=None).test_proposal_cfg is None


def test_get_proposals_takes_resolved_settings_and_get_bboxes_is_refused():
    head = build_head()
    cls_scores, bbox_preds = random_outputs(head, torch.Generator().manual_seed(1))
    with pytest.raises(TypeError, match='ProposalCfg.*resolve_proposal_cfg'):
        head.get_proposals(cls_scores, bbox_preds, METAS, cfg=TEST_CFG)
    with pytest.raises(NotImplementedError, match='get_proposals'):
        head.get_bboxes(cls_scores, bbox_preds, METAS)
    wider = ProposalCfg(50, 0.5, False, 200, 4.0)
    default, given = (head.get_proposals(cls_scores, bbox_preds, METAS, cfg=cfg)
                      for cfg in (None, wider))
    assert all(len(p) == 20 for p in default) and max(len(p) for p in given) > 20
    for short, long in zip(default, given, strict=True):
        torch.testing.assert_close(short, long[:20])
    with pytest.raises(RuntimeError, match='test_cfg'):
        build_head(test_cfg=None).get_proposals(cls_scores, bbox_preds, METAS)


def test_forward_train_and_simple_test_rpn():
    g = torch.Generator().manual_seed(5)
    head = build_head()
    feats = [torch.randn(3, 4, h, w, generator=g) for h, w in FEAT_SIZES]
    gt_bboxes = random_gts((2, 1, 3), g)
    torch.manual_seed(0)
    losses, proposals = head.forward_train(feats, METAS, gt_bboxes, proposal_cfg=TEST_CFG)
    torch.manual_seed(0)
    cls_scores, bbox_preds = head(feats)
    torch.testing.assert_close(losses, head.loss(cls_scores, bbox_preds, gt_bboxes, None, METAS))
    want = head.get_proposals(cls_scores, bbox_preds, METAS, cfg=resolve_proposal_cfg(TEST_CFG))
    assert all(not p.requires_grad for p in proposals)
    for got, ref in zip(proposals, want, strict=True):
        torch.testing.assert_close(got, ref.detach())
    assert set(head.forward_train(feats, METAS, gt_bboxes)) == {'loss_rpn_cls', 'loss_rpn_bbox'}
    # the resolved settings (what a detector passes) give what the dict gives
    _, resolved = head.forward_train(feats, METAS, gt_bboxes,
                                     proposal_cfg=head.train_proposal_cfg)
    for got, ref in zip(resolved, want, strict=True):
        torch.testing.assert_close(got, ref.detach())
    for got, ref in zip(head.simple_test_rpn(feats, METAS), want, strict=True):
        torch.testing.assert_close(got, ref.detach())


def test_mmdetection_names_and_parameter_count():
    head = MODELS.build({'type': 'RPNHead', 'in_channels': 256})
    shapes = {k: list(v.shape) for k, v in head.state_dict().items()}
    assert shapes == {'rpn_conv.weight': [256, 256, 3, 3], 'rpn_conv.bias': [256],
                      'rpn_cls.weight': [3, 256, 1, 1], 'rpn_cls.bias': [3],
                      'rpn_reg.weight': [12, 256, 1, 1], 'rpn_reg.bias': [12]}
    assert sum(p.numel() for p in head.parameters()) == 593_935
    if REFERENCE.is_file():
        ref = json.loads(REFERENCE.read_text())['models']['faster_rcnn_r50_fpn_1x_coco']
        assert {k.removeprefix('rpn_head.'): v for k, v in ref['state_dict'].items()
                if k.startswith('rpn_head.')} == shapes
        assert ref['params']['rpn_head'] == 593_935
    two_convs = build_head(num_convs=2)
    assert [k for k in two_convs.state_dict() if k.startswith('rpn_conv')] == [
        'rpn_conv.0.conv.weight', 'rpn_conv.0.conv.bias', 'rpn_conv.1.conv.weight',
        'rpn_conv.1.conv.bias']
    with pytest.raises(ValueError, match='num_classes'):
        build_head(num_classes=3)

