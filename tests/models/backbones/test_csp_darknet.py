"""CSPDarknet and YOLOXPAFPN: output shapes, frozen stages, norm_eval, bad arguments."""
from __future__ import annotations

import pytest
import torch

from mmssd.registry import MODELS


def test_shapes_through_backbone_and_neck():
    backbone = MODELS.build(dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.125,
                                 out_indices=(1, 2, 3, 4), use_depthwise=True,
                                 spp_kernal_sizes=(3, 5)))
    feats = backbone(torch.rand(2, 3, 64, 96))
    assert [tuple(f.shape) for f in feats] == [(2, 16, 16, 24), (2, 32, 8, 12), (2, 64, 4, 6),
                                               (2, 128, 2, 3)]
    assert backbone.out_channels == (16, 32, 64, 128)
    neck = MODELS.build(dict(type='YOLOXPAFPN', in_channels=[32, 64, 128], out_channels=24,
                             num_csp_blocks=1))
    outs = neck(feats[1:])
    assert [tuple(o.shape) for o in outs] == [(2, 24, 8, 12), (2, 24, 4, 6), (2, 24, 2, 3)]


def test_frozen_stages_and_norm_eval():
    backbone = MODELS.build(dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.125,
                                 frozen_stages=1, norm_eval=True))
    backbone.train()
    assert not any(p.requires_grad for p in backbone.stem.parameters())
    assert not any(p.requires_grad for p in backbone.stage1.parameters())
    assert all(p.requires_grad for p in backbone.stage2.parameters())
    assert not any(m.training for m in backbone.modules()
                   if isinstance(m, torch.nn.BatchNorm2d))
    with pytest.raises(ValueError, match='out_indices'):
        MODELS.build(dict(type='CSPDarknet', out_indices=(5,)))
