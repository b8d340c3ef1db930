"""``CSPDarknet``: YOLOX's backbone (mmdetection 2.x arguments and module names)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssd.registry import MODELS

from ..layers.csp_layer import YOLOX_ACT, YOLOX_NORM, CSPLayer, conv_module
from .frozen_stages import FrozenStagesMixin


class Focus(nn.Module):
    """Space to depth, then a conv: ``(B, C, H, W) -> (B, out, H / 2, W / 2)``; the four
    pixel phases are stacked top-left, bottom-left, top-right, bottom-right."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1,
                 stride: int = 1, conv_cfg: dict | None = None, norm_cfg: dict = YOLOX_NORM,
                 act_cfg: dict = YOLOX_ACT) -> None:
        super().__init__()
        self.conv = ConvModule(in_channels * 4, out_channels, kernel_size, stride,
                               padding=(kernel_size - 1) // 2, conv_cfg=conv_cfg,
                               norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2],
                                    x[..., 1::2, 1::2]], dim=1))


class SPPBottleneck(nn.Module):
    """Spatial pyramid pooling: ``conv1`` halves the channels, max-pools of each kernel
    size (stride 1) are concatenated with it, ``conv2`` maps to ``out_channels``."""

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_sizes: Sequence[int] = (5, 9, 13), conv_cfg: dict | None = None,
                 norm_cfg: dict = YOLOX_NORM, act_cfg: dict = YOLOX_ACT) -> None:
        super().__init__()
        mid = in_channels // 2
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(in_channels, mid, 1, stride=1, **cfg)
        self.poolings = nn.ModuleList(
            [nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2) for k in kernel_sizes])
        self.conv2 = ConvModule(mid * (len(kernel_sizes) + 1), out_channels, 1, **cfg)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [pool(x) for pool in self.poolings], dim=1))


@MODELS.register_module()
class CSPDarknet(FrozenStagesMixin, BaseModule):
    """CSPDarknet (YOLOv5 / YOLOX): a ``Focus`` stem and four stages, each a stride-2 conv,
    [an ``SPPBottleneck``,] and a ``CSPLayer``; outputs ``(B, C_i, H / 2^(i+1), W / 2^(i+1))``
    of the layers in ``out_indices`` (0 the stem, 1..4 the stages).

    Args:
        arch: ``'P5'`` (the only architecture of mmdetection's YOLOX configs) or ``'P6'``.
        deepen_factor: blocks per CSP layer ``max(round(n * deepen_factor), 1)``.
        widen_factor: channels ``int(c * widen_factor)``.
        out_indices: layers whose outputs are returned (default the last three stages).
        frozen_stages: stem and stages ``<= frozen_stages`` frozen (-1: none).
        use_depthwise: depthwise-separable convs.
        arch_ovewrite: replaces the architecture table (mmdetection's spelling).
        spp_kernal_sizes: max-pool sizes of the SPP block (mmdetection's spelling).
        conv_cfg, norm_cfg, act_cfg: of every ``ConvModule``.
        norm_eval: keep BatchNorm statistics fixed in training.
        init_cfg: mmengine init config (default: PyTorch's conv init).
    """

    #: (in, out, blocks, add_identity, use_spp) of each stage.
    ARCH_SETTINGS = {
        'P5': [[64, 128, 3, True, False], [128, 256, 9, True, False],
               [256, 512, 9, True, False], [512, 1024, 3, False, True]],
        'P6': [[64, 128, 3, True, False], [128, 256, 9, True, False],
               [256, 512, 9, True, False], [512, 768, 3, True, False],
               [768, 1024, 3, False, True]],
    }

    def __init__(self, arch: str = 'P5', deepen_factor: float = 1.0, widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (2, 3, 4), frozen_stages: int = -1,
                 use_depthwise: bool = False, arch_ovewrite: list | None = None,
                 spp_kernal_sizes: Sequence[int] = (5, 9, 13), conv_cfg: dict | None = None,
                 norm_cfg: dict = YOLOX_NORM, act_cfg: dict = YOLOX_ACT,
                 norm_eval: bool = False, init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in self.ARCH_SETTINGS:
            raise ValueError(f'CSPDarknet: `arch` must be one of {sorted(self.ARCH_SETTINGS)}; '
                             f'got {arch!r}')
        settings = arch_ovewrite or self.ARCH_SETTINGS[arch]
        if not set(out_indices) <= set(range(len(settings) + 1)):
            raise ValueError(f'CSPDarknet: `out_indices` must lie in [0, {len(settings)}]; '
                             f'got {tuple(out_indices)}')
        if not -1 <= frozen_stages <= len(settings):
            raise ValueError(f'CSPDarknet: `frozen_stages` must lie in [-1, {len(settings)}]; '
                             f'got {frozen_stages}')
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.stem = Focus(3, int(settings[0][0] * widen_factor), kernel_size=3, **cfg)
        self.layers = ['stem']
        channels = [int(settings[0][0] * widen_factor)]
        for i, (c_in, c_out, blocks, add_identity, use_spp) in enumerate(settings):
            c_in, c_out = int(c_in * widen_factor), int(c_out * widen_factor)
            stage = [conv_module(use_depthwise)(c_in, c_out, 3, stride=2, padding=1, **cfg)]
            if use_spp:
                stage.append(SPPBottleneck(c_out, c_out, spp_kernal_sizes, **cfg))
            stage.append(CSPLayer(c_out, c_out, num_blocks=max(round(blocks * deepen_factor), 1),
                                  add_identity=add_identity, use_depthwise=use_depthwise, **cfg))
            self.add_module(f'stage{i + 1}', nn.Sequential(*stage))
            self.layers.append(f'stage{i + 1}')
            channels.append(c_out)
        self.out_channels = tuple(channels[i] for i in self.out_indices)
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        for name in self.layers[:self.frozen_stages + 1]:
            module = getattr(self, name)
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """Images ``(B, 3, H, W)`` -> the outputs of the ``out_indices`` layers."""
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
