"""Test-time augmentation of whole detectors and of the RoI-head merge.

Flip: a RetinaNet whose every convolution is mirror-symmetric (``w = w.flip(-1)``), whose
horizontal box offsets ``dx`` are zero, with feature levels made by 2x2 average pooling
(exact on even sizes; ``tests/helpers/dense_heads.py``) and anchors centred in their cells
(``center_offset=0.5``), is
flip-equivariant: its detections on a mirrored image are the mirrored detections. Flip TTA
(the image and its mirror, the mirror's detections un-flipped, one NMS) then gives the
detections of the image alone; an un-flip or un-scale error in the merge moves boxes.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmssd.apis.inference import build_test_pipeline, load_image
from mmssd.datasets.collate import detection_collate
from mmssd.models.test_time_augs import rcnn_aug_bboxes
from mmssd.models.utils import multiclass_nms
from mmssd.registry import MODELS
from tests.helpers.dense_heads import CHANNELS, NUM_CLASSES, meta, symmetric_init_


def equivariant_retinanet() -> nn.Module:
    cfg = dict(
        type='RetinaNet', backbone=dict(type='FlipSymmetricDenseTestBackbone'),
        bbox_head=dict(
            type='RetinaHead', num_classes=NUM_CLASSES, in_channels=CHANNELS,
            feat_channels=CHANNELS, stacked_convs=1,
            anchor_generator=dict(type='AnchorGenerator', strides=[4, 8, 16],
                                  ratios=[0.5, 1.0, 2.0], octave_base_scale=2,
                                  scales_per_octave=1, center_offset=0.5)),
        test_cfg=dict(nms_pre=200, min_bbox_size=0, score_thr=0.3,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()
    symmetric_init_(model)
    with torch.no_grad():
        reg = model.bbox_head.retina_reg
        reg.weight[0::4] = 0  # dx: a mirror-symmetric network cannot predict its sign
        reg.bias[0::4] = 0
        reg.weight.mul_(0.05)  # boxes near their anchors, logits of spread-out scores
        model.bbox_head.retina_cls.weight.mul_(0.2)
        model.bbox_head.retina_cls.bias.fill_(-1.0)
    return model


def assert_same_boxes(got: list, want: list, atol: float = 1e-3) -> int:
    """Per image and class the same detections (boxes to ``atol`` px); the count."""
    total = 0
    for got_img, want_img in zip(got, want, strict=True):
        for got_cls, want_cls in zip(got_img, want_img, strict=True):
            assert got_cls.shape == want_cls.shape
            # pair each wanted detection with its closest one (the order of near-equal
            # scores may differ by float rounding)
            dist = np.abs(want_cls[:, None, :4] - got_cls[None, :, :4]).max(-1)
            match = dist.argmin(1) if len(got_cls) else np.zeros(0, int)
            assert len(set(match.tolist())) == len(match)
            np.testing.assert_allclose(got_cls[match, :4], want_cls[:, :4], rtol=0, atol=atol)
            np.testing.assert_allclose(got_cls[match, 4], want_cls[:, 4], rtol=0, atol=1e-5)
            total += len(got_cls)
    return total


@pytest.fixture(scope='module')
def model() -> nn.Module:
    return equivariant_retinanet()


def test_flip_tta_of_an_equivariant_detector_equals_one_pass(model):
    g = torch.Generator().manual_seed(1)
    img = torch.rand(2, 3, 64, 64, generator=g) * 2 - 1  # not symmetric
    plain = [meta(64, 0.5, False)] * 2
    flipped = [meta(64, 0.5, True)] * 2
    want = model.predict(img, plain)
    got = model.predict([img, img.flip(-1)], [plain, flipped])
    assert assert_same_boxes(got, want) >= 20
    # the check can fail: boxes of the mirror image not un-flipped are elsewhere
    unflipped = model.predict([img, img.flip(-1)], [plain, plain])
    with pytest.raises(AssertionError):
        assert_same_boxes(unflipped, want)
    # one augmentation as a list goes through the merge and gives the same
    assert_same_boxes(model.predict([img], [plain]), want, atol=0)


def symmetric_image() -> np.ndarray:
    """A (64, 64, 3) BGR image equal to its mirror: textured objects (a red and a green
    rectangle, a yellow triangle) on a random left half, mirrored onto the right half.
    Everything is textured: uniform areas would give neighbouring anchors exactly equal
    scores, which NMS may break either way."""
    rng = np.random.default_rng(0)
    left = rng.integers(0, 80, (64, 32, 3)).astype(np.int64)
    left[10:24, 6:20] += (160, 0, 0)
    left[36:60, 12:28] += (0, 150, 60)
    for row in range(12):  # a triangle
        left[40 + row, 2:2 + row] += (170, 170, 0)
    left = left.clip(0, 255).astype(np.uint8)
    return np.concatenate([left, left[:, ::-1]], axis=1)


def assert_same_up_to_axis_ties(got: list, want: list, width: float = 64.0) -> int:
    """:func:`assert_same_boxes`, except that boxes straddling the image's vertical axis
    may be each other's mirror images.

    On a symmetric image a box straddling the axis and its mirror image score the same up
    to float rounding and may suppress each other, so which one NMS keeps is rounding's
    choice, in either run. Those boxes must be as many, each one a box of the other run
    or its mirror image; every other detection must be the same box."""
    def mirror(dets):
        flipped = dets.copy()
        flipped[:, [0, 2]] = width - dets[:, [2, 0]]
        return flipped

    total, straddling = 0, 0
    for got_img, want_img in zip(got, want, strict=True):
        for got_cls, want_cls in zip(got_img, want_img, strict=True):
            zone_got = (got_cls[:, 0] < width / 2) & (got_cls[:, 2] > width / 2)
            zone_want = (want_cls[:, 0] < width / 2) & (want_cls[:, 2] > width / 2)
            total += assert_same_boxes([[got_cls[~zone_got]]], [[want_cls[~zone_want]]])
            assert zone_got.sum() == zone_want.sum()
            either = np.concatenate([want_cls[zone_want], mirror(want_cls[zone_want])])
            for det in got_cls[zone_got]:
                dist = np.abs(either - det).max(-1)
                assert dist.min() < 1e-3, (det, either)
            straddling += int(zone_got.sum())
    return total + straddling


def pipeline_cfg(flip: bool) -> Config:
    steps = [dict(type='Resize', keep_ratio=False), dict(type='RandomFlip'),
             dict(type='Normalize', mean=[127.5] * 3, std=[128.0] * 3, to_rgb=True),
             dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img'])]
    return Config(dict(data=dict(test=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='MultiScaleFlipAug', img_scale=(128, 128), flip=flip, transforms=steps)]))))


def test_symmetric_image_flip_tta_through_the_pipeline(model):
    arr = symmetric_image()
    assert np.array_equal(arr, arr[:, ::-1])
    plain = detection_collate([build_test_pipeline(pipeline_cfg(False))(load_image(arr))])
    tta = detection_collate([build_test_pipeline(pipeline_cfg(True))(load_image(arr))])
    assert isinstance(plain['img'], torch.Tensor)  # one augmentation: unwrapped by collate
    assert [m['flip'] for m in (tta['img_metas'][0][0], tta['img_metas'][1][0])] == [False, True]
    torch.testing.assert_close(tta['img'][1], tta['img'][0], rtol=0, atol=0)  # mirror == image
    want = model(plain['img'], plain['img_metas'], mode='predict')
    got = model(tta['img'], tta['img_metas'], mode='predict')
    assert assert_same_up_to_axis_ties(got, want) >= 10
    boxes = np.concatenate(want[0])[:, :4]
    assert boxes.min() >= 0 and boxes.max() <= 64  # original pixels (the input is 128 px)


class BoxEchoRoIHead(nn.Module):
    """A stand-in RoI head with ``simple_test_bboxes_raw``' contract: every proposal is its
    own box (the same for all classes), with the scores given per image."""

    def __init__(self, scores: list[torch.Tensor], test_cfg: dict) -> None:
        super().__init__()
        self.scores, self.test_cfg = scores, test_cfg
        self.calls = 0

    def simple_test_bboxes_raw(self, x, img_metas, proposals, rescale=False):
        assert not rescale
        self.calls += 1
        return [p.repeat(1, NUM_CLASSES) for p in proposals], list(self.scores)


def test_rcnn_merge_maps_proposals_in_and_back_and_averages():
    g = torch.Generator().manual_seed(2)
    xy = torch.rand(2, 30, 2, generator=g) * 30
    proposals = list(torch.cat([xy, xy + torch.rand(2, 30, 2, generator=g) * 20 + 1], dim=-1))
    scores = list(torch.rand(2, 30, NUM_CLASSES + 1, generator=g).softmax(-1))
    cfg = dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=20)
    head = BoxEchoRoIHead(scores, cfg)
    aug_metas = [[meta(100, 2.0, False)] * 2, [meta(100, 2.0, True)] * 2,
                 [meta(75, 1.5, True)] * 2]
    results = rcnn_aug_bboxes(head, [None] * 3, proposals, aug_metas)
    assert head.calls == 3
    for (dets, labels), boxes, img_scores in zip(results, proposals, scores, strict=True):
        want_dets, want_labels = multiclass_nms(boxes.repeat(1, NUM_CLASSES), img_scores,
                                                cfg['score_thr'], cfg['nms'], 20)
        torch.testing.assert_close(dets, want_dets)
        torch.testing.assert_close(labels, want_labels)
    unscaled = rcnn_aug_bboxes(head, [None] * 3, proposals, aug_metas, rescale=False)
    torch.testing.assert_close(unscaled[0][0][:, :4], results[0][0][:, :4] * 2)
    with pytest.raises(ValueError, match='2 proposal sets for 1 images'):
        rcnn_aug_bboxes(head, [None], proposals, [[meta(100, 2.0, False)]])
