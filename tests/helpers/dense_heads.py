"""What the dense-head and detector tests share: a tiny flip-equivariant backbone and
detector for test-time augmentation, random head outputs, image metas, the per-image NMS
reference, and the decoding-trace and flip-TTA checks.

Flip equivariance: every convolution mirror-symmetric (:func:`symmetric_init_`), levels
made by 2x2 average pooling (exact on even sizes), anchors or points centred in their
cells; the caller zeroes what would need a sign under mirroring (a box's horizontal
offset)."""
from __future__ import annotations

import warnings

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
    symmetric_init_(model)
    return model


def symmetric_init_(model: nn.Module) -> None:
    """Every ``Conv2d`` of ``model`` re-drawn (weights std 0.4, biases std 0.2, from torch's
    global generator) and made mirror-symmetric, ``w = (w + w.flip(-1)) / 2``."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, std=0.4)
                if module.bias is not None:
                    nn.init.normal_(module.bias, std=0.2)
                module.weight.copy_((module.weight + module.weight.flip(-1)) / 2)


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


def assert_decoding_traces(head: nn.Module, reg_channels: int, metas: list[dict]) -> None:
    """``head.mlvl_topk_decode`` (boxes and scores) traced on :func:`random_outputs` replays
    the eager decoding on other random outputs. ``nms_pre`` 15 is below every level's 20+
    anchors: traced, top-k always runs; eagerly a level of <= nms_pre anchors keeps its
    order."""
    def decode(*outs):
        return head.mlvl_topk_decode(list(outs[:3]), list(outs[3:]), metas, 15)[:2]

    cls_scores, bbox_preds = random_outputs(reg_channels)
    with warnings.catch_warnings():  # the anchor cache's key reads the (fixed) sizes
        warnings.simplefilter('ignore')
        traced = torch.jit.trace(decode, (*cls_scores, *bbox_preds))
    new_cls, new_reg = random_outputs(reg_channels, seed=1)
    for a, b in zip(traced(*new_cls, *new_reg), decode(*new_cls, *new_reg), strict=True):
        torch.testing.assert_close(a, b)


def assert_flip_tta_equals_one_pass(model: nn.Module, img: torch.Tensor,
                                    scale: float = 0.5) -> int:
    """Flip TTA of a flip-equivariant ``model`` on ``img (B, 3, H, W)`` (the image and its
    mirror, the mirror's detections un-flipped, one NMS) equals one pass on ``img``, up to
    the float rounding of mirrored boxes; returns the detection count."""
    size = tuple(img.shape[-2:])
    plain = [meta(size, scale)] * len(img)
    flipped = [meta(size, scale, True)] * len(img)
    want = model.predict(img, plain)
    got = model.predict([img, img.flip(-1)], [plain, flipped])
    count = 0
    for got_img, want_img in zip(got, want, strict=True):
        for got_cls, want_cls in zip(got_img, want_img, strict=True):
            torch.testing.assert_close(torch.from_numpy(got_cls), torch.from_numpy(want_cls),
                                       rtol=0, atol=1e-3)
            count += len(got_cls)
    return count
