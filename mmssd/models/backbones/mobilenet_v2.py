"""MobileNetV2 backbone with mmdetection's module names (``conv1``, ``layer1..7``, ``conv2``)."""
from __future__ import annotations

from collections.abc import Sequence

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssd.registry import MODELS

from ..layers import InvertedResidual, make_divisible
from .frozen_stages import FrozenStagesMixin
from .pretrained_init import backbone_init_cfg


@MODELS.register_module()
class MobileNetV2(FrozenStagesMixin, BaseModule):
    """MobileNetV2 (mmdetection's).

    ``out_indices`` index ``[layer1, ..., layer7, conv2]``: index 4 is ``layer5``
    (96 channels at stride 16), index 7 is ``conv2`` (1280 channels, or
    ``int(1280 * widen_factor)`` when ``widen_factor > 1``, at stride 32).

    Args:
        widen_factor: width multiplier.
        out_indices: indices of the returned outputs (0 to 7).
        frozen_stages: stages to freeze (``conv1`` and ``layer1..frozen_stages``); -1 none.
        conv_cfg, norm_cfg, act_cfg: layer configs.
        norm_eval: keep BatchNorm layers in eval mode while training.
        with_cp: gradient checkpointing in the blocks.
        pretrained: deprecated checkpoint name; use ``init_cfg``.
        init_cfg: mmengine init config (default Kaiming for convs, constant 1 for norms);
            a ``Pretrained`` one is read weights-only once the entry points have installed
            :mod:`mmssd.engine.checkpoint` (``install_checkpointing``).
    """

    # expand ratio, channels, blocks, stride of layer1..layer7
    arch_settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                     [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]

    def __init__(self, widen_factor: float = 1., out_indices: Sequence[int] = (1, 2, 4, 7),
                 frozen_stages: int = -1, conv_cfg: dict | None = None,
                 norm_cfg: dict | None = None, act_cfg: dict | None = None,
                 norm_eval: bool = False, with_cp: bool = False,
                 pretrained: str | None = None,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(backbone_init_cfg(pretrained, init_cfg, default=[
            {'type': 'Kaiming', 'layer': 'Conv2d'},
            {'type': 'Constant', 'val': 1, 'layer': ['_BatchNorm', 'GroupNorm']}]))
        if not set(out_indices).issubset(range(8)):
            raise ValueError(f'out_indices must be a subset of range(0, 8), got {out_indices}')
        if frozen_stages not in range(-1, 8):
            raise ValueError(f'frozen_stages must be in range(-1, 8), got {frozen_stages}')
        self.widen_factor = widen_factor
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = {'type': 'BN'} if norm_cfg is None else norm_cfg
        self.act_cfg = {'type': 'ReLU6'} if act_cfg is None else act_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        self.in_channels = make_divisible(32 * widen_factor, 8)
        self.conv1 = self._conv(3, self.in_channels, 3, stride=2, padding=1)
        self.layers = []
        for i, (expand_ratio, channel, num_blocks, stride) in enumerate(self.arch_settings):
            out_channels = make_divisible(channel * widen_factor, 8)
            layer = self.make_layer(out_channels, num_blocks, stride, expand_ratio)
            self.add_module(f'layer{i + 1}', layer)
            self.layers.append(f'layer{i + 1}')
        self.out_channel = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = self._conv(self.in_channels, self.out_channel, 1, stride=1, padding=0)
        self.layers.append('conv2')

    def _conv(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
              padding: int) -> ConvModule:
        return ConvModule(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                          conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def make_layer(self, out_channels: int, num_blocks: int, stride: int,
                   expand_ratio: int) -> nn.Sequential:
        """A stage of ``num_blocks`` inverted residual blocks (only the first strides)."""
        blocks = []
        for i in range(num_blocks):
            blocks.append(InvertedResidual(
                self.in_channels, out_channels,
                mid_channels=int(round(self.in_channels * expand_ratio)),
                stride=stride if i == 0 else 1, with_expand_conv=expand_ratio != 1,
                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
                with_cp=self.with_cp))
            self.in_channels = out_channels
        return nn.Sequential(*blocks)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            for param in self.conv1.parameters():
                param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            layer = getattr(self, f'layer{i}')
            layer.eval()
            for param in layer.parameters():
                param.requires_grad = False

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """``(B, 3, H, W)`` -> outputs at ``out_indices`` (e.g. ``(B, 96, H/16, W/16)``,
        ``(B, 1280, H/32, W/32)`` for ``(4, 7)``)."""
        x = self.conv1(x)
        outs = []
        for i, layer_name in enumerate(self.layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
