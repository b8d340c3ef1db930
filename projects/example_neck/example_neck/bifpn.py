"""A BiFPN-style neck (after EfficientDet), registered in mmssd's ``MODELS`` from outside mmssd.

Nothing in mmssd knows this file: a config that lists it in ``custom_imports`` imports it,
the decorator below registers ``BiFPN``, and ``neck=dict(type='BiFPN', ...)`` builds it.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssd.registry import MODELS

from .bifpn_layer import BiFPNLayer


@MODELS.register_module()
class BiFPN(BaseModule):
    """Project backbone levels to ``out_channels``, add coarser levels, then repeat
    bidirectional weighted fusion (:class:`BiFPNLayer`).

    Inputs ``[(B, in_channels[i], H_i, W_i)]``; outputs ``num_outs`` maps
    ``(B, out_channels, H_l, W_l)``, finest first, each coarser level half the size of the
    previous one: a drop-in replacement for :class:`mmssd.models.necks.FPN` with the same
    ``in_channels`` / ``out_channels`` / ``num_outs`` / ``start_level``.

    Args:
        in_channels: channels of each backbone input.
        out_channels: channels of every output.
        num_outs: number of outputs; levels beyond the backbone's are made by a stride-2
            3x3 conv of the coarsest input (the first) and stride-2 max pooling (the rest).
        start_level: first backbone input used.
        num_repeats: number of BiFPN layers.
        norm_cfg: norm of the projections and fusion convs (default BN).
        act_cfg: activation of the fusion convs (default SiLU, EfficientDet's swish).
        init_cfg: mmengine init config (default Xavier uniform for convs).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int,
                 start_level: int = 0, num_repeats: int = 2, norm_cfg: dict | None = None,
                 act_cfg: dict | None = None, init_cfg: dict | list | None = None) -> None:
        if init_cfg is None:
            init_cfg = {'type': 'Xavier', 'layer': 'Conv2d', 'distribution': 'uniform'}
        super().__init__(init_cfg)
        self.in_channels = tuple(in_channels)
        self.start_level = start_level
        self.num_outs = num_outs
        used = len(self.in_channels) - start_level
        if used < 1 or num_outs < used:
            raise ValueError(f'num_outs={num_outs} must be at least the {used} backbone '
                             f'levels from start_level={start_level}')
        norm_cfg = {'type': 'BN'} if norm_cfg is None else norm_cfg
        act_cfg = {'type': 'SiLU'} if act_cfg is None else act_cfg
        self.lateral_convs = nn.ModuleList(
            ConvModule(channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
            for channels in self.in_channels[start_level:])
        self.extra_conv = (ConvModule(self.in_channels[-1], out_channels, 3, stride=2,
                                      padding=1, norm_cfg=norm_cfg, act_cfg=None)
                           if num_outs > used else None)
        self.bifpn_layers = nn.ModuleList(
            BiFPNLayer(num_outs, out_channels, norm_cfg=norm_cfg, act_cfg=act_cfg)
            for _ in range(num_repeats))

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        """Backbone maps -> ``num_outs`` maps ``(B, out_channels, H_l, W_l)``."""
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'BiFPN expects {len(self.in_channels)} inputs, got {len(inputs)}')
        feats = [conv(inputs[self.start_level + i]) for i, conv in enumerate(self.lateral_convs)]
        if self.extra_conv is not None:
            feats.append(self.extra_conv(inputs[-1]))
        while len(feats) < self.num_outs:
            feats.append(F.max_pool2d(feats[-1], kernel_size=3, stride=2, padding=1))
        for layer in self.bifpn_layers:
            feats = layer(feats)
        return tuple(feats)
