"""Feature Pyramid Network (Lin et al. 2017), mmdetection 2.x's ``FPN``."""
from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssd.registry import MODELS

EXTRA_CONV_SOURCES = ('on_input', 'on_lateral', 'on_output')


@MODELS.register_module()
class FPN(BaseModule):
    """Top-down feature pyramid with optional extra (coarser) levels.

    Inputs ``[(B, in_channels[i], H_i, W_i)]`` (finest first); outputs ``num_outs`` maps
    ``(B, out_channels, H_l, W_l)``, finest first. Backbone levels
    ``start_level..end_level`` get a 1x1 ``lateral_convs[l]``; each coarser lateral is
    upsampled (``upsample_cfg``, to the finer map's size unless a ``scale_factor`` is
    given) and added to the finer one; ``fpn_convs[l]`` (3x3) smooths each sum. Extra
    levels beyond the backbone's: stride-2 max pooling of the last output, or, with
    ``add_extra_convs``, stride-2 3x3 convs (``fpn_convs[used:]``) whose first input is

    * ``'on_input'`` (or ``True``): the last backbone input used,
    * ``'on_lateral'``: the last lateral,
    * ``'on_output'``: the last FPN output,

    and later ones the previous extra level (through a ReLU with
    ``relu_before_extra_convs``).

    Module and parameter names are mmdetection's (``lateral_convs.i.conv``,
    ``fpn_convs.i.conv``), so its FPN weights load as they are.

    Args:
        in_channels: channels of each backbone input.
        out_channels: channels of every output.
        num_outs: number of outputs.
        start_level: first backbone input used.
        end_level: last backbone input used (-1: the last one); with an explicit
            ``end_level`` no extra levels are added.
        add_extra_convs: ``False`` (max pooling), ``True`` (``'on_input'``) or one of
            ``'on_input'``, ``'on_lateral'``, ``'on_output'``.
        relu_before_extra_convs: apply ReLU before every extra conv but the first.
        no_norm_on_lateral: no norm layer in the lateral convs.
        conv_cfg, norm_cfg, act_cfg: layer configs of all convs (``act_cfg=None``: linear).
        upsample_cfg: keyword arguments of ``F.interpolate`` (default nearest).
        init_cfg: mmengine init config (default Xavier uniform for convs).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int,
                 start_level: int = 0, end_level: int = -1,
                 add_extra_convs: bool | str = False, relu_before_extra_convs: bool = False,
                 no_norm_on_lateral: bool = False, conv_cfg: dict | None = None,
                 norm_cfg: dict | None = None, act_cfg: dict | None = None,
                 upsample_cfg: dict | None = None,
                 init_cfg: dict | list | None = None) -> None:
        if init_cfg is None:
            init_cfg = {'type': 'Xavier', 'layer': 'Conv2d', 'distribution': 'uniform'}
        super().__init__(init_cfg)
        self.in_channels = tuple(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(self.in_channels)
        self.num_outs = num_outs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.no_norm_on_lateral = no_norm_on_lateral
        self.upsample_cfg = {'mode': 'nearest'} if upsample_cfg is None else dict(upsample_cfg)

        if end_level in (-1, self.num_ins - 1):
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise ValueError(f'num_outs={num_outs} is fewer than the '
                                 f'{self.num_ins - start_level} backbone levels used')
        else:
            if not start_level <= end_level < self.num_ins:
                raise ValueError(f'end_level={end_level} must be in [start_level, '
                                 f'{self.num_ins})')
            self.backbone_end_level = end_level + 1
            if num_outs != end_level - start_level + 1:
                raise ValueError(f'num_outs={num_outs} must equal end_level - start_level '
                                 '+ 1 when end_level is given')
        self.start_level = start_level
        self.end_level = end_level
        if add_extra_convs is True:
            add_extra_convs = 'on_input'
        if add_extra_convs and add_extra_convs not in EXTRA_CONV_SOURCES:
            raise ValueError(f'add_extra_convs must be a bool or one of {EXTRA_CONV_SOURCES}, '
                             f'got {add_extra_convs!r}')
        self.add_extra_convs: str | bool = add_extra_convs

        common = {'conv_cfg': conv_cfg, 'act_cfg': act_cfg, 'inplace': False}
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for i in range(self.start_level, self.backbone_end_level):
            self.lateral_convs.append(ConvModule(
                self.in_channels[i], out_channels, 1,
                norm_cfg=None if no_norm_on_lateral else norm_cfg, **common))
            self.fpn_convs.append(ConvModule(out_channels, out_channels, 3, padding=1,
                                             norm_cfg=norm_cfg, **common))
        extra_levels = num_outs - self.backbone_end_level + self.start_level
        if self.add_extra_convs:
            for i in range(extra_levels):
                channels = (self.in_channels[self.backbone_end_level - 1]
                            if i == 0 and self.add_extra_convs == 'on_input' else out_channels)
                self.fpn_convs.append(ConvModule(channels, out_channels, 3, stride=2,
                                                 padding=1, norm_cfg=norm_cfg, **common))

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        """Backbone maps ``[(B, in_channels[i], H_i, W_i)]`` -> ``num_outs`` maps
        ``(B, out_channels, H_l, W_l)``, each level half the size of the previous one."""
        if len(inputs) != self.num_ins:
            raise ValueError(f'FPN expects {self.num_ins} inputs, got {len(inputs)}')
        laterals = [conv(inputs[i + self.start_level])
                    for i, conv in enumerate(self.lateral_convs)]
        used = len(laterals)
        for i in range(used - 1, 0, -1):  # top-down
            if 'scale_factor' in self.upsample_cfg:
                upsampled = F.interpolate(laterals[i], **self.upsample_cfg)
            else:
                upsampled = F.interpolate(laterals[i], size=laterals[i - 1].shape[2:],
                                          **self.upsample_cfg)
            laterals[i - 1] = laterals[i - 1] + upsampled
        outs = [self.fpn_convs[i](laterals[i]) for i in range(used)]
        if self.num_outs > used:
            if not self.add_extra_convs:
                for _ in range(self.num_outs - used):
                    outs.append(F.max_pool2d(outs[-1], 1, stride=2))
            else:
                source = {'on_input': inputs[self.backbone_end_level - 1],
                          'on_lateral': laterals[-1],
                          'on_output': outs[-1]}[self.add_extra_convs]
                outs.append(self.fpn_convs[used](source))
                for i in range(used + 1, self.num_outs):
                    previous = F.relu(outs[-1]) if self.relu_before_extra_convs else outs[-1]
                    outs.append(self.fpn_convs[i](previous))
        return tuple(outs)
