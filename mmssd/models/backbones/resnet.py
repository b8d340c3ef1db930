"""ResNet backbone built from torchvision's residual blocks, with mmdetection's parameter names.

torchvision's ``BasicBlock`` / ``Bottleneck`` (stride on the 3x3 conv, mmdetection's
``style='pytorch'``) name their layers ``conv1``, ``bn1``, ..., ``downsample``, and the stem
is ``conv1``, ``bn1``; mmdetection's ``ResNet`` uses the very same names, so an mmdetection
(or torchvision) ResNet checkpoint loads into this module key for key (``fc.*`` aside).
``style='caffe'`` moves a bottleneck's stride to its first 1x1 conv (:class:`ResBottleneck`),
as mmdetection's caffe-style ResNets (detectron's weights) do.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from mmssd.registry import MODELS

from .frozen_stages import FrozenStagesMixin
from .pretrained_init import backbone_init_cfg


class ResBottleneck(Bottleneck):
    """torchvision's ``Bottleneck`` with mmdetection's ``style`` and ResNeXt width.

    ``conv2`` (3x3) has ``width`` channels and ``groups`` groups: ``planes`` when
    ``groups == 1``, else ``floor(planes * base_width / base_channels) * groups``
    (mmdetection's ResNeXt). ``style='pytorch'`` strides the 3x3 conv, ``'caffe'`` the first
    1x1 conv. Input ``(B, inplanes, H, W)`` -> ``(B, 4 * planes, H / stride, W / stride)``.
    """

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 4,
                 base_channels: int = 64, style: str = 'pytorch',
                 norm_layer: Callable[[int], nn.Module] | None = None) -> None:
        # torchvision's width is int(planes * base_width / 64) * groups
        tv_base_width = 64 if groups == 1 else base_width * 64 / base_channels
        super().__init__(inplanes, planes, stride, downsample, groups=groups,
                         base_width=tv_base_width, norm_layer=norm_layer)
        if style == 'caffe' and stride != 1:
            self.conv1.stride = (stride, stride)
            self.conv2.stride = (1, 1)


def _norm_factory(norm_cfg: dict) -> Callable[[int], nn.Module]:
    """A ``norm_layer(num_features)`` callable (torchvision's block argument) from a config."""
    return lambda num_features: build_norm_layer(norm_cfg, num_features)[1]


@MODELS.register_module()
class ResNet(FrozenStagesMixin, BaseModule):
    """ResNet (mmdetection 2.x's ``ResNet``, ``style='pytorch'`` or ``'caffe'``).

    ``forward`` maps ``(B, in_channels, H, W)`` to a tuple over ``out_indices`` of
    ``(B, base_channels * 2**i * expansion, H / 2**(i + 2), W / 2**(i + 2))``: for
    ResNet-18 with the default ``base_channels=64``, channels ``(64, 128, 256, 512)`` at
    strides ``(4, 8, 16, 32)``; ``expansion`` is 1 for depths 18/34 and 4 for 50/101/152.

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels: input image channels.
        base_channels: channels of the stem and of ``layer1`` (64 in the published
            models; a smaller value gives a thinner network that no checkpoint fits).
        num_stages: number of residual stages (1 to 4).
        strides: stride of the first block of each stage.
        out_indices: stages whose outputs are returned (0-based).
        style: ``'pytorch'`` (a bottleneck strides its 3x3 conv) or ``'caffe'`` (its first
            1x1 conv; mmdetection's ``*_caffe`` configs with detectron's weights, which
            expect BGR images normalised by mean only: ``mean=[103.530, 116.280, 123.675],
            std=[1.0, 1.0, 1.0], to_rgb=False``).
        dcn, stage_with_dcn: deformable convolution is not available (no compiled
            ``mmcv.ops`` here, CPU only); ``dcn=None`` is accepted, anything else is an error.
        frozen_stages: freeze the stem and stages ``1..frozen_stages`` (-1: none).
        norm_cfg: normalization layer config (``requires_grad`` honoured).
        norm_eval: keep BatchNorm layers in eval mode while training (fine-tuning from
            pretrained weights with small batches).
        zero_init_residual: zero the last norm of each block at initialisation (not when
            loading pretrained weights).
        pretrained: deprecated checkpoint name; use ``init_cfg=dict(type='Pretrained',
            checkpoint=NAME)``.
        init_cfg: mmengine init config. Default: Kaiming for convs, constant 1 for norms.
            A ``Pretrained`` init takes a local path, ``torchvision://resnet50``,
            ``open-mmlab://...`` or a URL (torch.hub's cache, offline-safe), and reads the
            file with ``torch.load(weights_only=True)`` only
            (:mod:`mmssd.engine.checkpoint`, installed by the entry points); torchvision's
            ResNet keys load as they are (``fc.*`` is reported as unexpected and skipped).
    """

    arch_settings: dict[int, tuple[type[nn.Module], tuple[int, ...]]] = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth: int = 50, in_channels: int = 3, base_channels: int = 64,
                 num_stages: int = 4, strides: Sequence[int] = (1, 2, 2, 2),
                 out_indices: Sequence[int] = (0, 1, 2, 3), style: str = 'pytorch',
                 frozen_stages: int = -1, norm_cfg: dict | None = None,
                 norm_eval: bool = True, zero_init_residual: bool = True,
                 dcn: dict | None = None, stage_with_dcn: Sequence[bool] | None = None,
                 pretrained: str | None = None, init_cfg: dict | list | None = None) -> None:
        super().__init__(backbone_init_cfg(pretrained, init_cfg, default=[
            {'type': 'Kaiming', 'layer': 'Conv2d'},
            {'type': 'Constant', 'val': 1, 'layer': ['_BatchNorm', 'GroupNorm']}]))
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for ResNet; choose from '
                           f'{sorted(self.arch_settings)}')
        if style not in ('pytorch', 'caffe'):
            raise ValueError(f"style must be 'pytorch' or 'caffe', got {style!r}")
        if dcn is not None:
            raise NotImplementedError(
                f'{type(self).__name__}: dcn={dcn!r} asks for deformable convolution, which '
                'mmssd does not provide (it needs compiled mmcv.ops; mmssd runs on '
                'torch/torchvision only); set dcn=None')
        if not 1 <= num_stages <= 4:
            raise ValueError(f'num_stages must be 1 to 4, got {num_stages}')
        if not out_indices or max(out_indices) >= num_stages:
            raise ValueError(f'out_indices {tuple(out_indices)} must index the '
                             f'{num_stages} stages')
        self.depth = depth
        self.style = style
        self.base_channels = base_channels
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        norm_cfg = {'type': 'BN', 'requires_grad': True} if norm_cfg is None else norm_cfg
        norm_layer = _norm_factory(norm_cfg)
        block, stage_blocks = self.arch_settings[depth]
        self.block = block
        self.norm_layer = norm_layer

        self.conv1 = nn.Conv2d(in_channels, base_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(base_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        self.res_layers: list[str] = []
        inplanes = base_channels
        for i in range(num_stages):
            planes = base_channels * 2**i
            layer = self._make_layer(block, inplanes, planes, stage_blocks[i], strides[i])
            inplanes = planes * block.expansion
            name = f'layer{i + 1}'
            self.add_module(name, layer)
            self.res_layers.append(name)
        self.out_channels = tuple(base_channels * 2**i * block.expansion
                                  for i in self.out_indices)
        self._freeze_stages()

    def _make_block(self, inplanes: int, planes: int, stride: int = 1,
                    downsample: nn.Module | None = None) -> nn.Module:
        """One residual block (ResNeXt overrides it with its groups and width)."""
        if self.block is BasicBlock:
            return BasicBlock(inplanes, planes, stride, downsample, norm_layer=self.norm_layer)
        return ResBottleneck(inplanes, planes, stride, downsample, style=self.style,
                             norm_layer=self.norm_layer)

    def _make_layer(self, block: type[nn.Module], inplanes: int, planes: int, blocks: int,
                    stride: int) -> nn.Sequential:
        """One stage: ``blocks`` residual blocks, the first with ``stride`` and a projection
        shortcut (``downsample = Sequential(1x1 conv, norm)``) when the shape changes."""
        downsample = None
        if stride != 1 or inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes * block.expansion, 1, stride=stride, bias=False),
                self.norm_layer(planes * block.expansion))
        layers = [self._make_block(inplanes, planes, stride, downsample)]
        for _ in range(1, blocks):
            layers.append(self._make_block(planes * block.expansion, planes))
        return nn.Sequential(*layers)

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen: list[nn.Module] = [self.conv1, self.bn1]
        frozen += [getattr(self, f'layer{i}') for i in range(1, self.frozen_stages + 1)]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def init_weights(self) -> None:
        """Apply ``init_cfg``; a ``Pretrained`` one reads its file weights-only."""
        super().init_weights()
        pretrained = (isinstance(self.init_cfg, dict)
                      and self.init_cfg.get('type') == 'Pretrained')
        if self.zero_init_residual and not pretrained:
            last_norm = 'bn3' if self.block is Bottleneck else 'bn2'
            for name in self.res_layers:
                for block in getattr(self, name):
                    nn.init.constant_(getattr(block, last_norm).weight, 0)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """Images ``(B, 3, H, W)`` -> the ``out_indices`` stage outputs (see the class doc)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
