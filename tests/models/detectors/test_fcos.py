"""The FCOS detector: config errors at build, test-time augmentation (flip, multi-scale)
through the dense-head TTA path, against independent references."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.ops import batched_nms

from mmssd.models.utils.cfg_keys import ConfigKeyError
from mmssd.registry import MODELS
from tests.helpers.dense_heads import CHANNELS, NUM_CLASSES, meta, symmetric_init_
from tests.helpers.state_dicts import shipped_model_cfg

STRIDES = [4, 8, 16]
TEST_CFG = dict(nms_pre=100, min_bbox_size=0, score_thr=0.3,
                nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)


def equivariant_fcos() -> nn.Module:
    """Mirror-symmetric convs and equal left / right distances: detections of a mirrored
    image are the mirrored detections."""
    cfg = dict(type='FCOS', backbone=dict(type='FlipSymmetricDenseTestBackbone'),
               bbox_head=dict(type='FCOSHead', num_classes=NUM_CLASSES, in_channels=CHANNELS,
                              feat_channels=CHANNELS, stacked_convs=1, strides=STRIDES,
                              regress_ranges=[(-1, 16), (16, 32), (32, 1e8)],
                              norm_cfg=dict(type='GN', num_groups=4)),
               test_cfg=TEST_CFG)
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()
    symmetric_init_(model)
    with torch.no_grad():
        head = model.bbox_head
        head.conv_reg.weight.mul_(0.1)
        head.conv_reg.weight[2] = head.conv_reg.weight[0]  # right = left
        head.conv_reg.bias[2] = head.conv_reg.bias[0]
        head.conv_reg.bias.add_(2.0)  # exp: boxes of a few pixels to tens of pixels
        head.conv_cls.bias.fill_(-1.0)
    return model


def candidates(outs, image: int, size: int) -> tuple[torch.Tensor, ...]:
    """One image's per-level top ``nms_pre`` points by score x centerness, decoded by hand:
    boxes (clipped to ``size``), scores ``(n, C)``, centerness ``(n,)``."""
    boxes, scores, factors = [], [], []
    for stride, cls, reg, ctr in zip(STRIDES, *outs, strict=True):
        h, w = cls.shape[-2:]
        ys, xs = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing='ij')
        pts = torch.stack([xs.reshape(-1), ys.reshape(-1)], -1) * stride
        prob = cls[image].reshape(NUM_CLASSES, -1).t().sigmoid()
        cent = ctr[image].reshape(-1).sigmoid()
        dist = reg[image].reshape(4, -1).t()
        keep = (prob * cent[:, None]).max(1).values.topk(
            min(TEST_CFG['nms_pre'], len(pts))).indices
        boxes.append(torch.cat([pts[keep] - dist[keep, :2], pts[keep] + dist[keep, 2:]],
                               1).clamp(0, size))
        scores.append(prob[keep])
        factors.append(cent[keep])
    return torch.cat(boxes), torch.cat(scores), torch.cat(factors)


def reference_nms(boxes, scores, factors) -> list[np.ndarray]:
    box_i, label = (scores > TEST_CFG['score_thr']).nonzero(as_tuple=True)
    final = scores[box_i, label] * factors[box_i]
    keep = batched_nms(boxes[box_i], final, label, TEST_CFG['nms']['iou_threshold'])
    keep = keep[:TEST_CFG['max_per_img']]
    dets = torch.cat([boxes[box_i][keep], final[keep, None]], 1).numpy()
    return [dets[label[keep].numpy() == c] for c in range(NUM_CLASSES)]


def assert_same(got: list, want: list) -> int:
    total = 0
    for got_img, want_img in zip(got, want, strict=True):
        for got_cls, want_cls in zip(got_img, want_img, strict=True):
            assert got_cls.shape == want_cls.shape
            order_g, order_w = np.lexsort(got_cls.T[::-1]), np.lexsort(want_cls.T[::-1])
            np.testing.assert_allclose(got_cls[order_g], want_cls[order_w], rtol=0, atol=1e-4)
            total += len(got_cls)
    return total


@pytest.fixture(scope='module')
def model() -> nn.Module:
    return equivariant_fcos()


def test_flip_tta_of_an_equivariant_fcos_equals_one_pass(model):
    img = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    plain, flipped = [meta(64, 1.0, False)] * 2, [meta(64, 1.0, True)] * 2
    want = model.predict(img, plain)
    assert assert_same(model.predict([img, img.flip(-1)], [plain, flipped]), want) >= 10
    with pytest.raises(AssertionError):  # the mirror's boxes left mirrored are elsewhere
        assert_same(model.predict([img, img.flip(-1)], [plain, plain]), want)


def test_multi_scale_tta_equals_reference(model):
    img = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2)) * 2 - 1
    big = nn.functional.interpolate(img, size=(96, 96), mode='bilinear', align_corners=False)
    metas = [[meta(64, 1.0, False)], [meta(96, 1.5, False)]]
    got = model.predict([img, big], metas)
    with torch.no_grad():
        parts = [candidates(model.forward_dense(x), 0, size) for x, size in ((img, 64), (big, 96))]
    boxes = torch.cat([parts[0][0], parts[1][0] / 1.5])
    want = reference_nms(boxes, torch.cat([parts[0][1], parts[1][1]]),
                         torch.cat([parts[0][2], parts[1][2]]))
    assert assert_same(got, [want]) >= 5


FCOS_CONFIG = 'configs/fcos/fcos_r50_caffe_fpn_gn-head_1x_coco.py'


@pytest.mark.parametrize('change,key', [
    (lambda m: m['train_cfg'].update(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                                                   neg_iou_thr=0.4)),
     'model.train_cfg.assigner'),
    (lambda m: m['bbox_head'].update(regress_ranges=[(-1, 64), (64, 1e8)]),
     'model.bbox_head.regress_ranges'),
    (lambda m: m['bbox_head'].update(anchor_generator=dict(type='AnchorGenerator')),
     'model.bbox_head.anchor_generator'),
    (lambda m: m['bbox_head'].update(dcn_on_last_conv=True), 'model.bbox_head.dcn_on_last_conv'),
    (lambda m: m['bbox_head'].update(center_sampel_radius=1.5),
     'model.bbox_head.center_sampel_radius'),
])
def test_bad_fcos_configs_stop_at_build_naming_the_key(change, key):
    cfg = shipped_model_cfg(FCOS_CONFIG)
    cfg['backbone'] = dict(type='FlipSymmetricDenseTestBackbone')  # cheap to build
    change(cfg)
    with pytest.raises(ConfigKeyError) as info:
        MODELS.build(cfg)
    assert info.value.full_key == key
    assert key in str(info.value)
