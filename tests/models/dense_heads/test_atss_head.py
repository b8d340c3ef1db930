"""ATSSHead: batched decoding equals a per-image decode + torchvision NMS reference, is
traceable, and works with the dense-head test-time augmentation; the batched loss equals a
per-image, per-positive reference written here (torchvision's focal loss and GIoU)."""
from __future__ import annotations

import pytest
import torch
from torchvision.ops import generalized_box_iou, sigmoid_focal_loss

from mmssd.models.task_modules import delta2bbox
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

TRAIN_CFG = dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1,
                 debug=False)


@pytest.fixture(scope='module')
def model() -> torch.nn.Module:
    model = tiny_detector('ATSS', dict(type='ATSSHead'), TRAIN_CFG)
    with torch.no_grad():  # dx = 0: a mirror-symmetric network cannot predict its sign
        model.bbox_head.atss_reg.weight[0] = 0
        model.bbox_head.atss_reg.bias[0] = 0
    return model


def reference_decode(head, cls_scores, bbox_preds, metas, cfg=TEST_CFG) -> list:
    """Per image and level: the nms_pre best by sigmoid(cls) * sigmoid(centerness), deltas
    decoded and clipped to the image, divided by scale_factor; then :func:`reference_nms`
    (score_thr on sigmoid(cls), then scores times centerness, as mmdetection 2.x)."""
    results = []
    anchors = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores])
    for i, img_meta in enumerate(metas):
        boxes, scores, factors = [], [], []
        for cls, reg, level_anchors in zip(cls_scores, bbox_preds, anchors):
            prob = cls[i].permute(1, 2, 0).reshape(-1, NUM_CLASSES).sigmoid()
            out = reg[i].permute(1, 2, 0).reshape(-1, 5)
            centerness = out[:, 4].sigmoid()
            rank = (prob * centerness[:, None]).max(1).values
            keep = rank.topk(min(cfg['nms_pre'], len(prob))).indices
            box = delta2bbox(level_anchors[keep], out[keep, :4], stds=(0.1, 0.1, 0.2, 0.2),
                             max_shape=img_meta['img_shape'][:2])
            boxes.append(box / torch.as_tensor(img_meta['scale_factor']))
            scores.append(prob[keep])
            factors.append(centerness[keep])
        results.append(reference_nms(torch.cat(boxes), torch.cat(scores), cfg,
                                     torch.cat(factors)))
    return results


def test_decoding_equals_per_image_reference_and_traces(model) -> None:
    head = model.bbox_head
    cls_scores, bbox_preds = random_outputs(5)
    metas = [meta((64, 80), 0.5), meta((50, 70), 1.25)]
    got = head.get_bboxes(cls_scores, bbox_preds, metas)
    assert assert_same_detections(got, reference_decode(head, cls_scores, bbox_preds,
                                                        metas)) >= 20
    # every candidate kept: score_thr filters the class scores before the centerness
    # multiplies them (a threshold on the product keeps fewer)
    cfg = dict(TEST_CFG, score_thr=0.3, max_per_img=1000)
    got = head.get_bboxes(cls_scores, bbox_preds, metas, cfg=cfg)
    assert assert_same_detections(got, reference_decode(head, cls_scores, bbox_preds, metas,
                                                        cfg)) >= 100
    assert_decoding_traces(head, 5, metas)


def test_flip_and_multiscale_tta(model) -> None:
    g = torch.Generator().manual_seed(1)
    img = torch.rand(2, 3, 64, 64, generator=g) * 2 - 1
    assert assert_flip_tta_equals_one_pass(model, img) >= 10
    plain = [meta(64, 0.5)] * 2
    big = torch.nn.functional.interpolate(img, size=(96, 96), mode='bilinear')
    multi = model.predict([img, big, big.flip(-1)],
                          [plain, [meta(96, 0.75)] * 2, [meta(96, 0.75, True)] * 2])
    boxes = torch.cat([torch.from_numpy(c) for c in multi[0]])
    assert len(boxes) and boxes[:, :4].min() >= 0 and boxes[:, :4].max() <= 128


def reference_loss(head, cls_scores, bbox_preds, gt_bboxes, gt_labels) -> dict:
    """mmdetection's ATSS loss with one image and one positive at a time."""
    anchors = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores])
    sizes = [len(a) for a in anchors]
    anchors = torch.cat(anchors)
    cls_all = torch.cat([c.permute(0, 2, 3, 1).reshape(c.size(0), -1, NUM_CLASSES)
                         for c in cls_scores], 1)
    reg_all = torch.cat([r.permute(0, 2, 3, 1).reshape(r.size(0), -1, 5) for r in bbox_preds], 1)
    num_pos, cls_sum = 0, 0.0
    bbox_sum, centerness_sum, centerness_bce = 0.0, 0.0, 0.0
    for i, (gts, labels) in enumerate(zip(gt_bboxes, gt_labels)):
        inds = head.assigner.assign(anchors, sizes, gts, gt_labels=labels).gt_inds
        target = torch.zeros(len(anchors), NUM_CLASSES)
        pos = (inds > 0).nonzero().flatten().tolist()
        num_pos += max(len(pos), 1)
        for j in pos:
            gt = gts[inds[j] - 1]
            target[j, labels[inds[j] - 1]] = 1
            cx, cy = (anchors[j, 0] + anchors[j, 2]) / 2, (anchors[j, 1] + anchors[j, 3]) / 2
            lr = torch.stack([cx - gt[0], gt[2] - cx])
            tb = torch.stack([cy - gt[1], gt[3] - cy])
            centerness = torch.sqrt(lr.min() / lr.max() * tb.min() / tb.max())
            box = delta2bbox(anchors[j:j + 1], reg_all[i, j:j + 1, :4],
                             stds=(0.1, 0.1, 0.2, 0.2))
            bbox_sum = bbox_sum + centerness * (1 - generalized_box_iou(box, gt[None])[0, 0])
            centerness_sum = centerness_sum + centerness
            centerness_bce = centerness_bce + torch.nn.functional.binary_cross_entropy_with_logits(
                reg_all[i, j, 4], centerness)
        cls_sum = cls_sum + sigmoid_focal_loss(cls_all[i], target, reduction='sum')
    return {'loss_cls': cls_sum / num_pos,
            'loss_bbox': 2.0 * bbox_sum / max(float(centerness_sum), 1.0),
            'loss_centerness': centerness_bce / num_pos}


def test_batched_loss_equals_per_image_reference(model) -> None:
    head = model.bbox_head
    cls_scores, bbox_preds = random_outputs(5)
    gt_bboxes = [torch.tensor([[4., 6., 40., 50.], [30., 10., 60., 30.], [8., 8., 20., 24.]]),
                 torch.zeros((0, 4))]
    gt_labels = [torch.tensor([0, 2, 1]), torch.zeros(0, dtype=torch.long)]
    metas = [meta(64), meta(64)]
    got = head.loss(cls_scores, bbox_preds, gt_bboxes, gt_labels, metas)
    want = reference_loss(head, cls_scores, bbox_preds, gt_bboxes, gt_labels)
    assert set(got) == set(want)
    for key in want:
        torch.testing.assert_close(got[key], want[key], msg=key)
    empty = head.loss(cls_scores, bbox_preds, [torch.zeros((0, 4))] * 2,
                      [torch.zeros(0, dtype=torch.long)] * 2, metas)
    assert empty['loss_bbox'] == 0 and empty['loss_cls'] > 0


def test_decoded_regression_is_required() -> None:
    with pytest.raises(ValueError, match='reg_decoded_bbox'):
        tiny_detector('ATSS', dict(type='ATSSHead', reg_decoded_bbox=False))
