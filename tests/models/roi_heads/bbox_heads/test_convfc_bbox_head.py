"""ConvFCBBoxHead family: mmdetection's parameter names, shapes and counts, layer wiring and
initialisation, and config errors."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from mmssd.models.roi_heads import (
    BBoxHead,
    ConvFCBBoxHead,
    Shared2FCBBoxHead,
    Shared4Conv1FCBBoxHead,
    StandardRoIHead,
)

REFERENCE = (Path(__file__).parents[4] / '..' / 'shared' / 'reference'
             / 'mmdet_two_stage_state_dicts.json')


def faster_rcnn_roi_head(num_classes: int) -> StandardRoIHead:
    """The roi_head of mmdetection's faster_rcnn_r50_fpn config."""
    return StandardRoIHead(
        bbox_roi_extractor=dict(type='SingleRoIExtractor', out_channels=256,
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=256, fc_out_channels=1024,
                       roi_feat_size=7, num_classes=num_classes, reg_class_agnostic=False,
                       loss_bbox=dict(type='L1Loss', loss_weight=1.0)))


@pytest.mark.parametrize('model,num_classes', [('faster_rcnn_r50_fpn_1x_coco', 80),
                                               ('faster_rcnn_r50_fpn_1x_voc0712', 20)])
def test_shared2fc_state_dict_matches_mmdetection(model, num_classes):
    if not REFERENCE.is_file():
        pytest.skip(f'reference state dicts not found at {REFERENCE.resolve()}')
    reference = json.loads(REFERENCE.read_text())['models'][model]
    expected = {key[len('roi_head.'):]: shape for key, shape in reference['state_dict'].items()
                if key.startswith('roi_head.')}
    head = faster_rcnn_roi_head(num_classes)
    shapes = {key: list(value.shape) for key, value in head.state_dict().items()}
    assert shapes == expected
    assert sum(p.numel() for p in head.parameters()) == reference['params']['roi_head']


def test_shared2fc_80_classes_count_and_init():
    head = faster_rcnn_roi_head(80)
    assert sum(p.numel() for p in head.parameters()) == 14_306_705
    head.init_weights()
    bbox_head = head.bbox_head
    assert bbox_head.fc_cls.weight.shape == (81, 1024)
    assert bbox_head.fc_reg.weight.shape == (320, 1024)
    assert bbox_head.fc_cls.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert bbox_head.fc_reg.weight.std().item() == pytest.approx(0.001, rel=0.05)
    for fc in bbox_head.shared_fcs:  # Xavier uniform, zero bias
        bound = math.sqrt(6 / (fc.in_features + fc.out_features))
        assert fc.weight.abs().max().item() <= bound * (1 + 1e-6)
        assert fc.weight.abs().max().item() > 0.9 * bound
        assert fc.bias.abs().max().item() == 0


def test_shared2fc_forward_is_two_relu_fcs_then_predictors():
    torch.manual_seed(0)
    head = Shared2FCBBoxHead(in_channels=4, fc_out_channels=16, roi_feat_size=3, num_classes=5)
    x = torch.randn(6, 4, 3, 3)
    cls_score, bbox_pred = head(x)
    hidden = F.relu(head.shared_fcs[0](x.reshape(6, 36)))
    hidden = F.relu(head.shared_fcs[1](hidden))
    torch.testing.assert_close(cls_score, head.fc_cls(hidden))
    torch.testing.assert_close(bbox_pred, head.fc_reg(hidden))
    assert cls_score.shape == (6, 6) and bbox_pred.shape == (6, 20)


def test_shared4conv1fc_builds_and_runs():
    torch.manual_seed(0)
    head = Shared4Conv1FCBBoxHead(in_channels=4, conv_out_channels=8, fc_out_channels=16,
                                  roi_feat_size=5, num_classes=3, reg_class_agnostic=True,
                                  norm_cfg=dict(type='GN', num_groups=4))
    keys = set(head.state_dict())
    assert {f'shared_convs.{i}.conv.weight' for i in range(4)} <= keys
    assert {f'shared_convs.{i}.gn.weight' for i in range(4)} <= keys
    assert head.shared_fcs[0].weight.shape == (16, 8 * 25)
    assert head.fc_cls.weight.shape == (4, 16) and head.fc_reg.weight.shape == (4, 16)
    head.init_weights()
    x = torch.randn(7, 4, 5, 5)
    cls_score, bbox_pred = head(x)
    hidden = x
    for conv in head.shared_convs:
        hidden = conv(hidden)
    hidden = F.relu(head.shared_fcs[0](hidden.flatten(1)))
    torch.testing.assert_close(cls_score, head.fc_cls(hidden))
    torch.testing.assert_close(bbox_pred, head.fc_reg(hidden))
    assert bbox_pred.shape == (7, 4)


def test_separate_branches_and_avg_pool_dimensions():
    head = ConvFCBBoxHead(num_shared_convs=1, num_cls_convs=1, num_cls_fcs=1, num_reg_convs=0,
                          num_reg_fcs=0, in_channels=4, conv_out_channels=6, fc_out_channels=10,
                          roi_feat_size=3, num_classes=2)
    assert head.cls_fcs[0].in_features == 6 * 9  # flattened grid after the cls conv
    assert head.fc_cls.in_features == 10
    assert head.fc_reg.in_features == 6 * 9  # no reg fc: the flattened shared conv output
    cls_score, bbox_pred = head(torch.randn(3, 4, 3, 3))
    assert cls_score.shape == (3, 3) and bbox_pred.shape == (3, 8)
    pooled = ConvFCBBoxHead(num_shared_fcs=1, with_avg_pool=True, in_channels=4,
                            fc_out_channels=10, roi_feat_size=3, num_classes=2)
    assert pooled.shared_fcs[0].in_features == 4
    x = torch.randn(3, 4, 3, 3)
    expected = pooled.fc_cls(F.relu(pooled.shared_fcs[0](x.mean(dim=(2, 3)))))
    torch.testing.assert_close(pooled(x)[0], expected)


def test_plain_bbox_head():
    head = BBoxHead(in_channels=4, roi_feat_size=2, num_classes=3)
    assert head.fc_cls.in_features == 16 and head.fc_reg.out_features == 12
    cls_only = BBoxHead(with_reg=False, with_avg_pool=True, in_channels=4, num_classes=3)
    cls_score, bbox_pred = cls_only(torch.randn(2, 4, 7, 7))
    assert cls_score.shape == (2, 4) and bbox_pred is None
    assert not hasattr(cls_only, 'fc_reg')


@pytest.mark.parametrize('kwargs,match', [
    (dict(), 'at least one layer'),
    (dict(num_shared_fcs=1, num_cls_convs=1), 'cannot follow shared fcs'),
    (dict(num_cls_fcs=1, with_cls=False), 'with_cls=False'),
    (dict(num_reg_fcs=-1, num_cls_fcs=2), '>= 0'),
    (dict(num_shared_fcs=1, cls_predictor_cfg=dict(type='NormedLinear')), 'NormedLinear'),
    (dict(num_shared_fcs=1, with_cls=False, with_reg=False), 'with_cls or with_reg'),
    (dict(num_shared_fcs=1, loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True)),
     'use_sigmoid'),
])
def test_bad_configs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConvFCBBoxHead(in_channels=4, roi_feat_size=2, num_classes=2, **kwargs)
