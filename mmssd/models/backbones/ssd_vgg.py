"""VGG backbone of SSD: VGG16 ``features`` plus pool5 (3x3, stride 1), fc6 (dilated) and fc7."""
from __future__ import annotations

from collections.abc import Sequence

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssd.registry import MODELS

from .pretrained_init import backbone_init_cfg

#: convolutions per stage for each VGG depth
VGG_STAGE_BLOCKS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3),
                    19: (2, 2, 4, 4, 4)}
VGG_STAGE_CHANNELS = (64, 128, 256, 512, 512)


def make_vgg_layers(depth: int, ceil_mode: bool, with_last_pool: bool) -> list[nn.Module]:
    """VGG's conv/ReLU/max-pool layers in torchvision / mmcv ``features`` order."""
    layers: list[nn.Module] = []
    in_channels = 3
    for stage, (num_convs, channels) in enumerate(zip(VGG_STAGE_BLOCKS[depth],
                                                      VGG_STAGE_CHANNELS, strict=True)):
        for _ in range(num_convs):
            layers += [nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
            in_channels = channels
        if stage < len(VGG_STAGE_CHANNELS) - 1 or with_last_pool:
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=ceil_mode))
    return layers


@MODELS.register_module()
class SSDVGG(BaseModule):
    """VGG backbone for SSD, with mmdetection's module names (``features.<index>``).

    For depth 16 the ``features`` indices are those of mmdetection: conv4_3's ReLU is 22,
    pool5 (3x3, stride 1, pad 1) is 30, fc6 (3x3 conv 512->1024, dilation 6) is 31,
    fc7 (1x1 conv 1024->1024) is 33 and its ReLU 34.

    Args:
        depth: VGG depth (11, 13, 16 or 19).
        with_last_pool: keep the 2x2 max-pool after the last stage.
        ceil_mode: ``ceil_mode`` of the 2x2 max-pools.
        out_indices: output stages of mmcv's VGG; kept for config compatibility and only
            checked, since SSD's outputs are chosen by ``out_feature_indices``.
        out_feature_indices: indices in ``features`` whose outputs are returned.
        pretrained: deprecated checkpoint name; use ``init_cfg``.
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained',
            checkpoint='open-mmlab://vgg16_caffe')`` (mmdetection's SSD weights, whose
            ``features.<index>`` keys are this module's; resolved offline-safely and read
            weights-only once the entry points have installed :mod:`mmssd.engine.checkpoint`);
            default Kaiming for
            convolutions.
    """

    def __init__(self, depth: int = 16, with_last_pool: bool = False, ceil_mode: bool = True,
                 out_indices: Sequence[int] = (3, 4),
                 out_feature_indices: Sequence[int] = (22, 34), pretrained: str | None = None,
                 init_cfg: dict | list | None = None) -> None:
        if depth not in VGG_STAGE_BLOCKS:
            raise KeyError(f'invalid depth {depth} for VGG, expected one of '
                           f'{sorted(VGG_STAGE_BLOCKS)}')
        super().__init__(backbone_init_cfg(pretrained, init_cfg, default=[
            {'type': 'Kaiming', 'layer': 'Conv2d'},
            {'type': 'Constant', 'val': 1, 'layer': 'BatchNorm2d'},
            {'type': 'Normal', 'std': 0.01, 'layer': 'Linear'}]))
        if max(out_indices) > len(VGG_STAGE_BLOCKS[depth]):
            raise ValueError(f'out_indices {tuple(out_indices)} exceed the '
                             f'{len(VGG_STAGE_BLOCKS[depth])} stages of VGG{depth}')
        self.depth = depth
        self.out_indices = tuple(out_indices)
        layers = make_vgg_layers(depth, ceil_mode, with_last_pool)
        last_channels = VGG_STAGE_CHANNELS[-1]
        layers += [
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1),  # pool5
            nn.Conv2d(last_channels, 1024, kernel_size=3, padding=6, dilation=6),  # fc6
            nn.ReLU(inplace=True),
            nn.Conv2d(1024, 1024, kernel_size=1),  # fc7
            nn.ReLU(inplace=True),
        ]
        self.features = nn.Sequential(*layers)
        self.out_feature_indices = tuple(out_feature_indices)
        if max(self.out_feature_indices) >= len(self.features):
            raise ValueError(f'out_feature_indices {self.out_feature_indices} must index the '
                             f'{len(self.features)} layers of the VGG features')

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, ...]:
        """``(B, 3, H, W)`` -> the outputs of ``features[i]`` for ``i`` in
        ``out_feature_indices`` (for SSD300: ``(B, 512, 38, 38)`` and ``(B, 1024, 19, 19)``)."""
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.out_feature_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)
