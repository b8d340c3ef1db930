"""``YOLOXPAFPN``: YOLOX's path-aggregation FPN with CSP blocks (mmdetection 2.x)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssd.registry import MODELS

from ..layers.csp_layer import YOLOX_ACT, YOLOX_NORM, CSPLayer, conv_module


@MODELS.register_module()
class YOLOXPAFPN(BaseModule):
    """Top-down (``reduce_layers`` 1x1, nearest x2 upsampling, ``top_down_blocks``), then
    bottom-up (``downsamples`` 3x3 stride 2, ``bottom_up_blocks``), then ``out_convs`` 1x1
    to ``out_channels``: levels ``(B, in_channels[i], H_i, W_i) -> (B, out_channels, H_i,
    W_i)``.

    Args:
        in_channels: channels of the input levels (finest first).
        out_channels: channels of every output level.
        num_csp_blocks: blocks per CSP layer.
        use_depthwise: depthwise-separable 3x3 convs.
        upsample_cfg: ``nn.Upsample`` arguments.
        conv_cfg, norm_cfg, act_cfg: of every ``ConvModule``.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_csp_blocks: int = 3,
                 use_depthwise: bool = False,
                 upsample_cfg: dict | None = None, conv_cfg: dict | None = None,
                 norm_cfg: dict = YOLOX_NORM, act_cfg: dict = YOLOX_ACT,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.upsample = nn.Upsample(**(upsample_cfg or dict(scale_factor=2, mode='nearest')))
        chans = self.in_channels
        self.reduce_layers = nn.ModuleList()
        self.top_down_blocks = nn.ModuleList()
        for idx in range(len(chans) - 1, 0, -1):
            self.reduce_layers.append(ConvModule(chans[idx], chans[idx - 1], 1, **cfg))
            self.top_down_blocks.append(CSPLayer(chans[idx - 1] * 2, chans[idx - 1],
                                                 num_blocks=num_csp_blocks, add_identity=False,
                                                 use_depthwise=use_depthwise, **cfg))
        self.downsamples = nn.ModuleList()
        self.bottom_up_blocks = nn.ModuleList()
        for idx in range(len(chans) - 1):
            self.downsamples.append(conv_module(use_depthwise)(chans[idx], chans[idx], 3,
                                                               stride=2, padding=1, **cfg))
            self.bottom_up_blocks.append(CSPLayer(chans[idx] * 2, chans[idx + 1],
                                                  num_blocks=num_csp_blocks, add_identity=False,
                                                  use_depthwise=use_depthwise, **cfg))
        self.out_convs = nn.ModuleList([ConvModule(c, out_channels, 1, **cfg) for c in chans])

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'YOLOXPAFPN: {len(inputs)} input levels for in_channels '
                             f'{self.in_channels}')
        num = len(self.in_channels)
        inner = [inputs[-1]]
        for step, idx in enumerate(range(num - 1, 0, -1)):
            high = self.reduce_layers[step](inner[0])
            inner[0] = high
            inner.insert(0, self.top_down_blocks[step](
                torch.cat([self.upsample(high), inputs[idx - 1]], 1)))
        outs = [inner[0]]
        for idx in range(num - 1):
            down = self.downsamples[idx](outs[-1])
            outs.append(self.bottom_up_blocks[idx](torch.cat([down, inner[idx + 1]], 1)))
        return tuple(conv(out) for conv, out in zip(self.out_convs, outs, strict=True))
