"""MobileNetV2's inverted residual block (expand 1x1 -> depthwise 3x3 -> linear 1x1)."""
from __future__ import annotations

import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor


class InvertedResidual(BaseModule):
    """Inverted residual block with mmdetection's module names.

    Submodules: ``expand_conv`` (only when ``with_expand_conv``), ``depthwise_conv``,
    ``linear_conv`` (no activation). A shortcut is added when ``stride == 1`` and the
    channel counts agree.

    Args:
        in_channels, out_channels: block input/output channels.
        mid_channels: channels after expansion.
        kernel_size: depthwise kernel size.
        stride: depthwise stride, 1 or 2.
        with_expand_conv: whether to have the 1x1 expansion.
        conv_cfg, norm_cfg, act_cfg: layer configs of the ConvModules.
        with_cp: use gradient checkpointing.
        init_cfg: mmengine init config.
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int,
                 kernel_size: int = 3, stride: int = 1, with_expand_conv: bool = True,
                 conv_cfg: dict | None = None, norm_cfg: dict | None = None,
                 act_cfg: dict | None = None, with_cp: bool = False,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, got {stride}')
        norm_cfg = {'type': 'BN'} if norm_cfg is None else norm_cfg
        act_cfg = {'type': 'ReLU'} if act_cfg is None else act_cfg
        self.with_res_shortcut = stride == 1 and in_channels == out_channels
        self.with_cp = with_cp
        self.with_expand_conv = with_expand_conv
        if not with_expand_conv and mid_channels != in_channels:
            raise ValueError(f'without an expand conv mid_channels ({mid_channels}) must '
                             f'equal in_channels ({in_channels})')
        common = {'conv_cfg': conv_cfg, 'norm_cfg': norm_cfg}
        if with_expand_conv:
            self.expand_conv = ConvModule(in_channels, mid_channels, 1, stride=1, padding=0,
                                          act_cfg=act_cfg, **common)
        self.depthwise_conv = ConvModule(mid_channels, mid_channels, kernel_size, stride=stride,
                                         padding=kernel_size // 2, groups=mid_channels,
                                         act_cfg=act_cfg, **common)
        self.linear_conv = ConvModule(mid_channels, out_channels, 1, stride=1, padding=0,
                                      act_cfg=None, **common)

    def _inner_forward(self, x: Tensor) -> Tensor:
        out = self.expand_conv(x) if self.with_expand_conv else x
        out = self.linear_conv(self.depthwise_conv(out))
        return x + out if self.with_res_shortcut else out

    def forward(self, x: Tensor) -> Tensor:
        """``(B, in_channels, H, W)`` -> ``(B, out_channels, H / stride, W / stride)``."""
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        return self._inner_forward(x)
