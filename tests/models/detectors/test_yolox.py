"""YOLOX detector: multi-scale training resizes batch and boxes; sizes are seeded."""
from __future__ import annotations

import random

import numpy as np
import torch

from mmssd.registry import MODELS

TINY = dict(type='YOLOX', input_size=(64, 64), random_size_range=(1, 3),
            random_size_interval=2,
            backbone=dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.125),
            neck=dict(type='YOLOXPAFPN', in_channels=[32, 64, 128], out_channels=16,
                      num_csp_blocks=1),
            bbox_head=dict(type='YOLOXHead', num_classes=2, in_channels=16, feat_channels=16),
            train_cfg=dict(assigner=dict(type='SimOTAAssigner', center_radius=2.5)),
            test_cfg=dict(score_thr=0.01, nms=dict(type='nms', iou_threshold=0.65)))


def test_multiscale_training_and_predict():
    model = MODELS.build(TINY)
    img = torch.rand(2, 3, 64, 64)
    metas = [dict(img_shape=(64, 64, 3), ori_shape=(64, 64, 3),
                  scale_factor=np.ones(4, np.float32), batch_input_shape=(64, 64))] * 2
    gts = [torch.tensor([[8.0, 8.0, 40.0, 40.0]]), torch.tensor([[0.0, 0.0, 20.0, 30.0]])]
    labels = [torch.tensor([0]), torch.tensor([1])]
    random.seed(3)
    expected = [32 * random.randint(1, 3) for _ in range(2)]
    random.seed(3)
    sizes = []
    for _ in range(4):
        sizes.append(model.input_size)
        losses = model(img, metas, gt_bboxes=gts, gt_labels=labels, mode='loss')
        assert torch.isfinite(sum(losses.values()))
    assert sizes == [(64, 64), (64, 64), (expected[0],) * 2, (expected[0],) * 2]
    assert model.input_size == (expected[1],) * 2
    resized, boxes = model.resize_batch(img, gts)
    scale = expected[1] / 64
    assert resized.shape[-1] == expected[1]
    torch.testing.assert_close(boxes[0], gts[0] * scale)
    model.eval()
    with torch.no_grad():
        results = model(img, metas, mode='predict')
    assert len(results) == 2 and len(results[0]) == 2
