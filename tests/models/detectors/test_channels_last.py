"""``channels_last=True``: NHWC weights and inputs, the same losses, gradients and detections."""
from __future__ import annotations

import torch
from mmengine.config import Config

from mmssd.registry import MODELS


def build(channels_last: bool) -> torch.nn.Module:
    cfg = Config.fromfile('configs/demo/ssdlite_mobilenetv2_demo.py').model.to_dict()
    torch.manual_seed(0)
    return MODELS.build(dict(cfg, channels_last=channels_last))


def batch(size: int = 192) -> tuple:
    g = torch.Generator().manual_seed(0)
    img = torch.randn(2, 3, size, size, generator=g) * 50
    metas = [{'img_shape': (size, size, 3), 'ori_shape': (size, size, 3),
              'scale_factor': 1.0, 'flip': False} for _ in range(2)]
    boxes = [torch.tensor([[10., 20, 90, 120], [50, 60, 180, 170]]),
             torch.tensor([[5., 5, 60, 40]])]
    labels = [torch.tensor([1, 3]), torch.tensor([0])]
    return img, metas, boxes, labels


def assert_same_detections(ref: torch.nn.Module, other: torch.nn.Module, img: torch.Tensor,
                           metas: list[dict], rtol: float, atol: float) -> None:
    """Both models in eval mode give the same per-class detections on ``img``."""
    for model in (ref, other):
        model.eval()
    with torch.no_grad():
        dets = [m(img, metas, mode='predict') for m in (ref, other)]
    for per_image_ref, per_image in zip(*dets, strict=True):
        for a, b in zip(per_image_ref, per_image, strict=True):
            assert a.shape == b.shape
            torch.testing.assert_close(torch.from_numpy(b), torch.from_numpy(a), rtol=rtol,
                                       atol=atol)


def test_weights_are_nhwc_and_results_match():
    ref, nhwc = build(False), build(True)
    nhwc.load_state_dict(ref.state_dict())
    conv = nhwc.backbone.conv1.conv.weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    img, metas, boxes, labels = batch()
    # gradients of a smooth function of the raw outputs (the loss's hard-negative mining
    # picks among near-tied negatives, so its gradient jumps with rounding); eval-mode BN
    for model in (ref, nhwc):
        model.eval()
    outputs = [m(img, metas, mode='tensor') for m in (ref, nhwc)]
    g = torch.Generator().manual_seed(1)
    weights = [torch.randn(o.shape, generator=g) for o in outputs[0][0] + outputs[0][1]]
    for cls_scores, bbox_preds in outputs:
        sum((w * o).sum() for w, o in zip(weights, cls_scores + bbox_preds,
                                          strict=True)).backward()
    for (name, p_ref), p_nhwc in zip(ref.named_parameters(), nhwc.parameters(), strict=True):
        scale = float(p_ref.grad.abs().max()) + 1e-6
        torch.testing.assert_close(p_nhwc.grad / scale, p_ref.grad / scale, rtol=0,
                                   atol=1e-4, msg=name)
    assert_same_detections(ref, nhwc, img, metas, rtol=1e-4, atol=1e-3)
    for model in (ref, nhwc):
        model.train()
    losses = [m(img, metas, boxes, labels, mode='loss') for m in (ref, nhwc)]
    for key in ('loss_cls', 'loss_bbox'):
        torch.testing.assert_close(losses[1][key], losses[0][key], rtol=1e-4, atol=1e-5)
