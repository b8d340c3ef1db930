"""SSD neck: L2-normalize the first backbone feature and append extra downsampling levels."""
from __future__ import annotations

from collections.abc import Sequence

from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssd.registry import MODELS

from ..layers import L2Norm


@MODELS.register_module()
class SSDNeck(BaseModule):
    """Extra feature levels of SSD (mmdetection's ``SSDNeck``).

    Each extra level ``i`` is ``extra_layers[i] = Sequential(1x1 ConvModule to
    out_channel // 2, kxk conv (ConvModule, or DepthwiseSeparableConvModule with
    use_depthwise) to out_channel with level_strides[i], level_paddings[i])``; ``k`` is 3
    except ``last_kernel_size`` for the last level.

    Args:
        in_channels: channels of the backbone outputs.
        out_channels: channels of all outputs; starts with ``in_channels``.
        level_strides, level_paddings: stride and padding of each extra level.
        l2_norm_scale: if set, ``l2_norm`` (:class:`L2Norm`, initialized to this scale)
            normalizes the first input.
        last_kernel_size: kernel size of the last extra level.
        use_depthwise: depthwise-separable second convs (SSDLite).
        conv_cfg, norm_cfg, act_cfg: layer configs.
        init_cfg: mmengine init config (default Xavier uniform for convs).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: Sequence[int],
                 level_strides: Sequence[int], level_paddings: Sequence[int],
                 l2_norm_scale: float | None = 20., last_kernel_size: int = 3,
                 use_depthwise: bool = False, conv_cfg: dict | None = None,
                 norm_cfg: dict | None = None, act_cfg: dict | None = None,
                 init_cfg: dict | list | None = None) -> None:
        if init_cfg is None:
            init_cfg = [{'type': 'Xavier', 'distribution': 'uniform', 'layer': 'Conv2d'}]
        if l2_norm_scale:
            init_cfg = list(init_cfg) if isinstance(init_cfg, list) else [init_cfg]
            init_cfg.append({'type': 'Constant', 'val': l2_norm_scale,
                             'override': {'name': 'l2_norm'}})
        super().__init__(init_cfg)
        in_channels, out_channels = tuple(in_channels), tuple(out_channels)
        act_cfg = {'type': 'ReLU'} if act_cfg is None else act_cfg
        if len(out_channels) <= len(in_channels):
            raise ValueError(f'out_channels {out_channels} must add levels to in_channels '
                             f'{in_channels}')
        if len(out_channels) - len(in_channels) != len(level_strides):
            raise ValueError(f'level_strides {tuple(level_strides)} needs one entry per extra '
                             f'level ({len(out_channels) - len(in_channels)})')
        if len(level_strides) != len(level_paddings):
            raise ValueError(f'level_strides {tuple(level_strides)} and level_paddings '
                             f'{tuple(level_paddings)} must have the same length')
        if in_channels != out_channels[:len(in_channels)]:
            raise ValueError(f'out_channels {out_channels} must start with in_channels '
                             f'{in_channels}')
        if l2_norm_scale:
            self.l2_norm = L2Norm(in_channels[0], l2_norm_scale)
        self.extra_layers = nn.ModuleList()
        extra_channels = out_channels[len(in_channels):]
        second_conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        common = {'conv_cfg': conv_cfg, 'norm_cfg': norm_cfg, 'act_cfg': act_cfg}
        for i, (out_channel, stride, padding) in enumerate(
                zip(extra_channels, level_strides, level_paddings, strict=True)):
            kernel_size = last_kernel_size if i == len(extra_channels) - 1 else 3
            self.extra_layers.append(nn.Sequential(
                ConvModule(out_channels[len(in_channels) - 1 + i], out_channel // 2, 1, **common),
                second_conv(out_channel // 2, out_channel, kernel_size, stride=stride,
                            padding=padding, **common)))

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        """Backbone features ``[(B, in_channels[i], H_i, W_i)]`` -> all levels
        ``[(B, out_channels[j], H_j, W_j)]`` (SSD300: 38, 19, 10, 5, 3, 1)."""
        outs = list(inputs)
        if hasattr(self, 'l2_norm'):
            outs[0] = self.l2_norm(outs[0])
        feat = outs[-1]
        for layer in self.extra_layers:
            feat = layer(feat)
            outs.append(feat)
        return tuple(outs)
