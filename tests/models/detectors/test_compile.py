"""``compile=True``: backbone, neck and head run through ``torch.compile`` with the same
losses, gradients and detections as eager, and a deepcopy (EMA) uses its own weights.

A small stand-in backbone keeps the compilation short (tens of seconds on 2 cores).
"""
from __future__ import annotations

import copy

import pytest
import torch
from mmengine.config import Config
from test_channels_last import (  # same directory (pytest puts it on sys.path)
    assert_same_detections,
    batch,
)
from torch import nn

from mmssd.registry import MODELS

LEVEL_CHANNELS = (48, 1280, 512, 256, 256, 128)
LEVEL_STRIDES = (16, 32, 64, 128, 192, 192)


@MODELS.register_module(force=True)
class TinyPyramid(nn.Module):
    """One strided conv per SSDLite demo level: ``(B, 3, 192, 192)`` -> its six features."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=16, padding=1)
        self.levels = nn.ModuleList(nn.Conv2d(8, c, 1) for c in LEVEL_CHANNELS)

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = torch.relu(self.stem(img))
        sizes = (12, 6, 3, 2, 1, 1)
        return tuple(level(nn.functional.adaptive_avg_pool2d(x, s))
                     for level, s in zip(self.levels, sizes, strict=True))


def build(compile_option) -> nn.Module:
    cfg = Config.fromfile('configs/demo/ssdlite_mobilenetv2_demo.py').model.to_dict()
    cfg.pop('neck')
    torch.manual_seed(0)
    return MODELS.build(dict(cfg, backbone=dict(type='TinyPyramid'), compile=compile_option))


@pytest.mark.slow
def test_compiled_matches_eager_and_copies_use_their_own_weights():
    eager, compiled = build(False), build({'dynamic': False})
    compiled.load_state_dict(eager.state_dict())
    img, metas, boxes, labels = batch()
    losses = [m(img, metas, boxes, labels, mode='loss') for m in (eager, compiled)]
    for key in ('loss_cls', 'loss_bbox'):
        torch.testing.assert_close(losses[1][key], losses[0][key], rtol=1e-5, atol=1e-6)
    for loss in losses:
        (loss['loss_cls'] + loss['loss_bbox']).backward()
    for (name, p_eager), p_compiled in zip(eager.named_parameters(), compiled.parameters(),
                                           strict=True):
        torch.testing.assert_close(p_compiled.grad, p_eager.grad, rtol=1e-4, atol=1e-6,
                                   msg=name)
    assert_same_detections(eager, compiled, img, metas, rtol=1e-5, atol=1e-4)
    # an EMA-style deepcopy compiles its own forward: changing its weights changes its
    # outputs, not the original's
    twin = copy.deepcopy(compiled)
    with torch.no_grad():
        twin.backbone.stem.weight.mul_(2)
        original, copied = compiled(img, metas, mode='tensor'), twin(img, metas, mode='tensor')
        reference = eager(img, metas, mode='tensor')
    torch.testing.assert_close(original[0][0], reference[0][0], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(copied[0][0], original[0][0])


def test_compile_option_must_be_bool_or_dict():
    with pytest.raises(TypeError, match='model.compile must be a bool or a dict'):
        build('yes')
