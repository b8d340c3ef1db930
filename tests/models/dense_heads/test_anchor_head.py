"""AnchorHead: the shared base of SSD, RetinaNet and RPN; allowed_border judged per image."""
from __future__ import annotations

import math

import pytest
import torch

from mmssd.models.dense_heads import AnchorHead, RetinaHead, RPNHead, SSDHead
from mmssd.registry import MODELS

STRIDES = [8, 16]
FEAT_SIZES = [(8, 8), (4, 4)]  # a batch padded to 64 x 64
# two image sizes in one padded batch: pad_shape is each image's own padding (size_divisor
# 16), not the batch's 64 x 64
METAS = [{'img_shape': (40, 52, 3), 'pad_shape': (48, 64, 3), 'scale_factor': [1.] * 4},
         {'img_shape': (61, 27, 3), 'pad_shape': (64, 32, 3), 'scale_factor': [1.] * 4}]
ANCHOR_GENERATOR = {'type': 'AnchorGenerator', 'scales': [2], 'ratios': [0.5, 1.0, 2.0],
                    'strides': STRIDES}


def build_head(allowed_border: int = 0, **kwargs) -> AnchorHead:
    cfg = {'type': 'AnchorHead', 'num_classes': 2, 'in_channels': 4,
           'anchor_generator': ANCHOR_GENERATOR,
           'train_cfg': {'assigner': {'type': 'MaxIoUAssigner', 'pos_iou_thr': 0.5,
                                      'neg_iou_thr': 0.4, 'min_pos_iou': 0.},
                         'allowed_border': allowed_border, 'pos_weight': -1, 'debug': False}}
    cfg.update(kwargs)
    return MODELS.build(cfg)


def hand_inside_flags(mlvl_anchors, featmap_sizes, strides, meta, border) -> torch.Tensor:
    """mmdetection's ``valid_flags`` and ``anchor_inside_flags`` of one image, anchor by
    anchor in plain Python: the anchor's cell lies in the image's ``pad_shape`` and the
    anchor inside ``[-border, w + border) x [-border, h + border)`` of its ``img_shape``."""
    img_h, img_w = meta['img_shape'][:2]
    pad_h, pad_w = meta['pad_shape'][:2]
    flags = []
    for anchors, (feat_h, feat_w), stride in zip(mlvl_anchors, featmap_sizes, strides,
                                                 strict=True):
        num_priors = len(anchors) // (feat_h * feat_w)
        for index, (x1, y1, x2, y2) in enumerate(anchors.tolist()):
            row, col = divmod(index // num_priors, feat_w)
            cell_valid = row < math.ceil(pad_h / stride) and col < math.ceil(pad_w / stride)
            inside = (x1 >= -border and y1 >= -border and x2 < img_w + border
                      and y2 < img_h + border)
            flags.append(cell_valid and inside)
    return torch.tensor(flags)


@pytest.mark.parametrize('border', [0, 5])
def test_allowed_border_excludes_the_hand_computed_anchors(border):
    head = build_head(border)
    mlvl_anchors = head.prior_generator.grid_priors(FEAT_SIZES)
    anchors = torch.cat(mlvl_anchors)
    mask = head.prior_valid_mask(FEAT_SIZES, METAS, anchors)
    want = torch.stack([hand_inside_flags(mlvl_anchors, FEAT_SIZES, STRIDES, meta, border)
                        for meta in METAS])
    assert torch.equal(mask, want)
    # both rules matter here: some anchors go for their cell, others for the image size
    assert want.sum(1).min() > 0 and want.sum(1).max() < len(anchors)
    assert not torch.equal(want[0], want[1])
    assert build_head(-1).prior_valid_mask(FEAT_SIZES, METAS, anchors) is None


def test_valid_flags_of_one_image_match_the_batched_ones():
    generator = build_head().prior_generator
    batched = generator.batch_valid_flags(FEAT_SIZES, [m['pad_shape'] for m in METAS])
    for i, meta in enumerate(METAS):
        single = generator.valid_flags(FEAT_SIZES, meta['pad_shape'])
        assert all(torch.equal(s, b[i]) for s, b in zip(single, batched, strict=True))
    # pad_shape (48, 64) on stride 16: rows 0..2 of 4 are valid, all 4 columns
    level1 = batched[1][0].view(4, 4, 3)
    assert level1[:3].all() and not level1[3].any()


def test_excluded_anchors_take_no_part_in_targets():
    head = build_head(0)
    anchors = torch.cat(head.prior_generator.grid_priors(FEAT_SIZES))
    valid = head.prior_valid_mask(FEAT_SIZES, METAS, anchors)
    # one box near the corner: its best anchors by IoU are partly outside the image
    gts = [torch.tensor([[0., 0., 12., 12.], [30., 20., 50., 38.]]),
           torch.tensor([[2., 40., 26., 60.]])]
    labels = [torch.tensor([0, 1]), torch.tensor([1])]
    targets = head.get_targets(anchors, gts, labels, prior_valid=valid)
    assert not targets.label_weights[~valid].any() and not targets.bbox_weights[~valid].any()
    for i in range(2):  # the inside anchors as mmdetection: assigned on their own
        subset = head.assigner.assign(anchors[valid[i]], gts[i], gt_labels=labels[i])
        want_labels = torch.full((len(anchors),), 2)
        want_labels[valid[i]] = torch.where(subset.gt_inds > 0, subset.labels, 2)
        want_weights = torch.zeros(len(anchors))
        want_weights[valid[i]] = (subset.gt_inds >= 0).float()
        assert torch.equal(targets.labels[i], want_labels)
        assert torch.equal(targets.label_weights[i], want_weights)
    assert (targets.labels < 2).any(1).all()
    unrestricted = head.get_targets(anchors, gts, labels)
    assert (unrestricted.label_weights[~valid] > 0).any()


def test_ssd_retina_rpn_are_siblings_on_the_base_and_old_import_paths_work():
    from mmssd.models import utils
    from mmssd.models.dense_heads import anchor_head
    from mmssd.models.dense_heads.ssd_head import SSDTargets, levels_to_batch, scale_factors_tensor
    assert SSDTargets is anchor_head.AnchorTargets
    assert levels_to_batch is anchor_head.levels_to_batch
    assert scale_factors_tensor is utils.scale_factors_tensor
    for head in (SSDHead, RetinaHead, RPNHead):
        assert head.__bases__ == (AnchorHead,)
    assert MODELS.get('AnchorHead') is AnchorHead


def test_plain_anchor_head_layers_and_loss_run():
    head = build_head(-1)
    assert head.use_sigmoid_cls and head.sampling and head.cls_out_channels == 2
    assert {k: tuple(v.shape) for k, v in head.state_dict().items()} == {
        'conv_cls.weight': (6, 4, 1, 1), 'conv_cls.bias': (6,),
        'conv_reg.weight': (12, 4, 1, 1), 'conv_reg.bias': (12,)}
    cls_scores, bbox_preds = head([torch.rand(2, 4, h, w) for h, w in FEAT_SIZES])
    losses = head.loss(cls_scores, bbox_preds, [torch.tensor([[4., 4., 30., 30.]])] * 2,
                       [torch.tensor([1])] * 2, METAS)
    assert set(losses) == {'loss_cls', 'loss_bbox'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    with pytest.raises(ValueError, match='levels'):
        head.loss(cls_scores[:1], bbox_preds[:1], [torch.zeros(0, 4)] * 2,
                  [torch.zeros(0, dtype=torch.long)] * 2, METAS)
    with pytest.raises(KeyError, match='pad_shape'):
        build_head(0).loss(cls_scores, bbox_preds, [torch.zeros(0, 4)] * 2,
                           [torch.zeros(0, dtype=torch.long)] * 2,
                           [{'img_shape': (64, 64, 3)}] * 2)
