"""Cross Stage Partial blocks of YOLOX's CSPDarknet and PAFPN (mmdetection 2.x names)."""
from __future__ import annotations

import torch
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from torch import Tensor, nn

#: mmdetection 2.x's YOLOX defaults.
YOLOX_NORM = dict(type='BN', momentum=0.03, eps=0.001)
YOLOX_ACT = dict(type='Swish')


def conv_module(use_depthwise: bool) -> type[nn.Module]:
    """``DepthwiseSeparableConvModule`` or ``ConvModule`` (mmcv)."""
    return DepthwiseSeparableConvModule if use_depthwise else ConvModule


class DarknetBottleneck(nn.Module):
    """``conv1`` (1x1) then ``conv2`` (3x3), plus the input when ``add_identity`` and the
    channels agree: ``(B, in, H, W) -> (B, out, H, W)``."""

    def __init__(self, in_channels: int, out_channels: int, expansion: float = 0.5,
                 add_identity: bool = True, use_depthwise: bool = False,
                 conv_cfg: dict | None = None, norm_cfg: dict = YOLOX_NORM,
                 act_cfg: dict = YOLOX_ACT) -> None:
        super().__init__()
        hidden = int(out_channels * expansion)
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(in_channels, hidden, 1, **cfg)
        self.conv2 = conv_module(use_depthwise)(hidden, out_channels, 3, stride=1, padding=1,
                                                **cfg)
        self.add_identity = add_identity and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


class CSPLayer(nn.Module):
    """Cross Stage Partial layer: ``main_conv`` -> ``blocks`` and ``short_conv``,
    concatenated, then ``final_conv``: ``(B, in, H, W) -> (B, out, H, W)``.

    Args:
        in_channels, out_channels: channels in and out.
        expand_ratio: hidden channels ``int(out_channels * expand_ratio)``.
        num_blocks: number of ``DarknetBottleneck`` blocks.
        add_identity: residual connections in the blocks.
        use_depthwise: depthwise-separable 3x3 convs.
    """

    def __init__(self, in_channels: int, out_channels: int, expand_ratio: float = 0.5,
                 num_blocks: int = 1, add_identity: bool = True, use_depthwise: bool = False,
                 conv_cfg: dict | None = None, norm_cfg: dict = YOLOX_NORM,
                 act_cfg: dict = YOLOX_ACT) -> None:
        super().__init__()
        mid = int(out_channels * expand_ratio)
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.main_conv = ConvModule(in_channels, mid, 1, **cfg)
        self.short_conv = ConvModule(in_channels, mid, 1, **cfg)
        self.final_conv = ConvModule(2 * mid, out_channels, 1, **cfg)
        self.blocks = nn.Sequential(*[
            DarknetBottleneck(mid, mid, 1.0, add_identity, use_depthwise, **cfg)
            for _ in range(num_blocks)])

    def forward(self, x: Tensor) -> Tensor:
        main = self.blocks(self.main_conv(x))
        return self.final_conv(torch.cat([main, self.short_conv(x)], dim=1))
