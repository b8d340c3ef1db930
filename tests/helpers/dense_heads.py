"""What the ATSS and GFL head tests share: a tiny flip-equivariant detector for test-time
augmentation, random head outputs, image metas, and the per-image NMS reference.

Flip equivariance (as in tests/models/test_time_augs/test_aug_test.py): every convolution
mirror-symmetric, levels made by 2x2 average pooling, anchors centred in their cells; the
caller zeroes what would need a sign under mirroring (a box's horizontal offset)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torchvision.ops import batched_nms

from mmssd.registry import MODELS

NUM_CLASSES = 3
CHANNELS = 8
TEST_CFG = dict(nms_pre=30, min_bbox_size=0, score_thr=0.05,
                nms=dict(type='nms', iou_threshold=0.5), max_per_img=20)


@MODELS.register_module(name='FlipSymmetricDenseTestBackbone', force=True)
class FlipSymmetricDenseTestBackbone(nn.Module):
    """Three levels (strides 4, 8, 16) of 3x3 convs, ReLU and 2x2 average pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, CHANNELS, 3, padding=1)
        self.convs = nn.ModuleList(nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1) for _ in range(3))

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = nn.functional.avg_pool2d(torch.relu(self.stem(img)), 2)
        outs = []
        for conv in self.convs:
            x = nn.functional.avg_pool2d(torch.relu(conv(x)), 2)
            outs.append(x)
        return tuple(outs)


def tiny_detector(detector: str, head: dict, train_cfg: dict | None = None) -> nn.Module:
    """A detector on the symmetric backbone, its convolutions made mirror-symmetric."""
    anchor_generator = dict(type='AnchorGenerator', strides=[4, 8, 16], ratios=[1.0],
                            octave_base_scale=4, scales_per_octave=1, center_offset=0.5)
    cfg = dict(type=detector, backbone=dict(type='FlipSymmetricDenseTestBackbone'),
               bbox_head=dict(head, num_classes=NUM_CLASSES, in_channels=CHANNELS,
                              feat_channels=CHANNELS, stacked_convs=1,
                              norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
                              anchor_generator=anchor_generator),
               train_cfg=train_cfg, test_cfg=TEST_CFG)
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, std=0.4)
                if module.bias is not None:
                    nn.init.normal_(module.bias, std=0.2)
                module.weight.copy_((module.weight + module.weight.flip(-1)) / 2)
    return model


def meta(size: int | tuple[int, int], scale: float = 1.0, flip: bool = False) -> dict:
    h, w = (size, size) if isinstance(size, int) else size
    return {'img_shape': (h, w, 3), 'pad_shape': (h, w, 3),
            'ori_shape': (round(h / scale), round(w / scale), 3), 'batch_input_shape': (h, w),
            'scale_factor': np.full(4, scale, np.float32), 'flip': flip,
            'flip_direction': 'horizontal' if flip else None}


def random_outputs(reg_channels: int, sizes=((16, 20), (8, 10), (4, 5)), batch: int = 2,
                   seed: int = 0) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Random ``(cls_scores, bbox_preds)`` of a head with one anchor per location."""
    g = torch.Generator().manual_seed(seed)
    cls = [torch.randn(batch, NUM_CLASSES, h, w, generator=g) * 2 for h, w in sizes]
    reg = [torch.randn(batch, reg_channels, h, w, generator=g) * 0.5 for h, w in sizes]
    return cls, reg


def reference_nms(bboxes: torch.Tensor, scores: torch.Tensor, cfg: dict,
                  factors: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One image's candidates ``(n, 4)``, ``(n, C)`` -> ``(dets (k, 5), labels (k,))``:
    (box, class) pairs above ``score_thr``, their scores times ``factors (n,)`` if given,
    torchvision's ``batched_nms``, ``max_per_img``."""
    box_inds, labels = (scores > cfg['score_thr']).nonzero(as_tuple=True)
    boxes, kept_scores = bboxes[box_inds], scores[box_inds, labels]
    if factors is not None:
        kept_scores = kept_scores * factors[box_inds]
    keep = batched_nms(boxes, kept_scores, labels, cfg['nms']['iou_threshold'])
    keep = keep[:cfg['max_per_img']]
    return torch.cat([boxes[keep], kept_scores[keep, None]], 1), labels[keep]


def assert_same_detections(got: list, want: list) -> int:
    """Per image equal detections and labels; the total count."""
    total = 0
    for (got_dets, got_labels), (want_dets, want_labels) in zip(got, want, strict=True):
        torch.testing.assert_close(got_dets, want_dets)
        assert torch.equal(got_labels, want_labels)
        total += len(got_dets)
    return total
