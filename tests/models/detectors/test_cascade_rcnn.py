"""CascadeRCNN end to end at the detector level: loss keys per stage, overfitting a tiny
batch, prediction format in original pixels, and the dummy forward of every stage."""
from __future__ import annotations

import numpy as np
import torch
from mmengine.config import Config
from test_two_stage import NUM_CLASSES, SIZE, batch, build  # noqa: F401 (fixture)

from mmssd.registry import MODELS

DEMO = 'configs/demo/cascade_rcnn_r18_fpn_demo.py'


def cascade_cfg() -> dict:
    """The demo Cascade R-CNN with a smaller ResNet (16 base channels)."""
    cfg = Config.fromfile(DEMO).model.to_dict()
    cfg['backbone']['base_channels'] = 16
    cfg['neck']['in_channels'] = [16, 32, 64, 128]
    return cfg


def test_registered_and_loss_falls(batch):  # noqa: F811 (fixture)
    assert issubclass(MODELS.get('CascadeRCNN'), MODELS.get('TwoStageDetector'))
    img, metas, gt_bboxes, gt_labels = batch
    model = build(cascade_cfg()).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    expected = {'loss_rpn_cls', 'loss_rpn_bbox'} | {
        f's{s}.{k}' for s in range(3) for k in ('loss_cls', 'loss_bbox', 'acc')}
    history = []
    for _ in range(20):
        losses = model(img, metas, gt_bboxes=gt_bboxes, gt_labels=gt_labels, mode='loss')
        assert set(losses) == expected
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    assert np.mean(history[-3:]) < 0.5 * np.mean(history[:3]), history


def test_predict_format_and_tensor_mode(batch):  # noqa: F811 (fixture)
    img, metas, *_ = batch
    model = build(cascade_cfg()).eval()
    results = model(img, metas, mode='predict')
    assert len(results) == 2
    for per_image in results:
        assert len(per_image) == NUM_CLASSES
        assert all(d.dtype == np.float32 and d.shape[1:] == (5,) for d in per_image)
        dets = np.concatenate(per_image)
        assert len(dets) <= 100
        if len(dets):  # original pixels: img_shape / scale_factor
            assert dets[:, :4].min() >= 0 and dets[:, :4].max() <= 2 * SIZE
    with torch.no_grad():
        outs = model(img, metas, mode='tensor')
    rpn_cls, rpn_reg, *stages = outs
    assert len(rpn_cls) == len(rpn_reg) == 5 and len(stages) == 6
    for cls_score, bbox_pred in zip(stages[::2], stages[1::2], strict=True):
        assert cls_score.shape == (2 * 1000, NUM_CLASSES + 1)
        assert bbox_pred.shape == (2 * 1000, 4)  # class-agnostic regression


def test_a_two_stage_detector_with_a_cascade_head_runs_tensor_mode(batch):  # noqa: F811
    """The tensor forward is the RoI head's public ``forward_tensor``: a plain
    ``TwoStageDetector`` with a ``CascadeRoIHead`` gives what ``CascadeRCNN`` gives (which
    has no ``forward_tensor`` of its own)."""
    from mmssd.models.detectors import CascadeRCNN, TwoStageDetector
    assert 'forward_tensor' not in vars(CascadeRCNN)
    img, metas, *_ = batch
    cascade = build(cascade_cfg()).eval()
    plain = build(dict(cascade_cfg(), type='TwoStageDetector')).eval()
    assert type(plain) is TwoStageDetector
    with torch.no_grad():
        want = cascade(img, metas, mode='tensor')
        got = plain(img, metas, mode='tensor')
    assert len(got) == len(want) == 2 + 2 * 3
    for got_part, want_part in zip(got, want, strict=True):
        torch.testing.assert_close(got_part, want_part)


def test_test_time_augmentation(batch):  # noqa: F811 (fixture)
    """The cascade under flip and scale TTA: an augmentation given twice gives what it gives
    once; flip plus a second scale gives detections in original pixels."""
    img, metas, *_ = batch
    model = build(cascade_cfg()).eval()
    plain = [dict(m, flip=False, flip_direction=None) for m in metas]
    once = model([img], [plain], mode='predict')
    twice = model([img, img], [plain, plain], mode='predict')
    assert sum(len(d) for d in once[0] + once[1]) > 0
    for per_image, per_image_twice in zip(once, twice, strict=True):
        for dets, dets_twice in zip(per_image, per_image_twice, strict=True):
            np.testing.assert_allclose(dets, dets_twice, rtol=1e-5, atol=1e-4)
    flipped = [dict(m, flip=True, flip_direction='horizontal') for m in plain]
    small = torch.nn.functional.interpolate(img, size=(64, 64), mode='bilinear')
    small_metas = [dict(m, img_shape=(64, 64 - 16 * i * 2 // 3, 3), pad_shape=(64, 64, 3),
                        scale_factor=np.full(4, 1 / 3, np.float32))
                   for i, m in enumerate(plain)]
    tta = model([img, img.flip(-1), small], [plain, flipped, small_metas], mode='predict')
    assert len(tta) == 2 and all(len(per_image) == NUM_CLASSES for per_image in tta)
    dets = np.concatenate([np.concatenate(per_image) for per_image in tta])
    assert len(dets) <= 200
    if len(dets):
        assert dets[:, :4].min() >= 0 and dets[:, :4].max() <= 2 * SIZE
