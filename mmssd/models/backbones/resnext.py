"""ResNeXt backbone (mmdetection's ``ResNeXt``): ResNet with grouped 3x3 convs."""
from __future__ import annotations

from typing import Any

from torch import nn

from mmssd.registry import MODELS

from .resnet import ResBottleneck, ResNet


@MODELS.register_module()
class ResNeXt(ResNet):
    """ResNeXt with mmdetection's names: ``ResNeXt(depth=101, groups=32, base_width=4)`` is
    ``resnext101_32x4d`` (``open-mmlab://resnext101_32x4d`` loads key for key).

    Each bottleneck's 3x3 conv has ``groups`` groups of ``base_width * 2**i`` channels in
    stage ``i`` (``floor(planes * base_width / base_channels) * groups``): 128, 256, 512,
    1024 channels for 32x4d. Outputs as :class:`ResNet`'s: ``(B, 256 * 2**i, H / 2**(i + 2),
    W / 2**(i + 2))`` for ``i`` in ``out_indices``.

    Args:
        groups: groups of the 3x3 convs (the cardinality, 32 or 64 in the published models).
        base_width: channels per group in the first stage.
        **kwargs: :class:`ResNet`'s arguments (``depth`` 50, 101 or 152).
    """

    arch_settings = {k: v for k, v in ResNet.arch_settings.items() if k >= 50}

    def __init__(self, groups: int = 1, base_width: int = 4, **kwargs: Any) -> None:
        self.groups = groups
        self.base_width = base_width
        super().__init__(**kwargs)

    def _make_block(self, inplanes: int, planes: int, stride: int = 1,
                    downsample: nn.Module | None = None) -> nn.Module:
        return ResBottleneck(inplanes, planes, stride, downsample, groups=self.groups,
                             base_width=self.base_width, base_channels=self.base_channels,
                             style=self.style, norm_layer=self.norm_layer)
