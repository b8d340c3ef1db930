"""ResNet backbone built from torchvision's residual blocks, with mmdetection's parameter names.

torchvision's ``BasicBlock`` / ``Bottleneck`` (stride on the 3x3 conv, mmdetection's
``style='pytorch'``) name their layers ``conv1``, ``bn1``, ..., ``downsample``, and the stem
is ``conv1``, ``bn1``; mmdetection's ``ResNet`` uses the very same names, so an mmdetection
(or torchvision) ResNet checkpoint loads into this module key for key (``fc.*`` aside).
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


def _norm_factory(norm_cfg: dict) -> Callable[[int], nn.Module]:
    """A ``norm_layer(num_features)`` callable (torchvision's block argument) from a config."""
    return lambda num_features: build_norm_layer(norm_cfg, num_features)[1]


@MODELS.register_module()
class ResNet(FrozenStagesMixin, BaseModule):
    """ResNet (mmdetection 2.x's ``ResNet``, ``style='pytorch'``).

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
        style: only ``'pytorch'`` (stride on the 3x3 conv) is supported.
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
                 pretrained: str | None = None, init_cfg: dict | list | None = None) -> None:
        super().__init__(backbone_init_cfg(pretrained, init_cfg, default=[
            {'type': 'Kaiming', 'layer': 'Conv2d'},
            {'type': 'Constant', 'val': 1, 'layer': ['_BatchNorm', 'GroupNorm']}]))
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for ResNet; choose from '
                           f'{sorted(self.arch_settings)}')
        if style != 'pytorch':
            raise NotImplementedError(f"only style='pytorch' is supported, got {style!r}")
        if not 1 <= num_stages <= 4:
            raise ValueError(f'num_stages must be 1 to 4, got {num_stages}')
        if not out_indices or max(out_indices) >= num_stages:
            raise ValueError(f'out_indices {tuple(out_indices)} must index the '
                             f'{num_stages} stages')
        self.depth = depth
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        norm_cfg = {'type': 'BN', 'requires_grad': True} if norm_cfg is None else norm_cfg
        norm_layer = _norm_factory(norm_cfg)
        block, stage_blocks = self.arch_settings[depth]
        self.block = block

        self.conv1 = nn.Conv2d(in_channels, base_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(base_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        self.res_layers: list[str] = []
        inplanes = base_channels
        for i in range(num_stages):
            planes = base_channels * 2**i
            layer = self._make_layer(block, inplanes, planes, stage_blocks[i], strides[i],
                                     norm_layer)
            inplanes = planes * block.expansion
            name = f'layer{i + 1}'
            self.add_module(name, layer)
            self.res_layers.append(name)
        self.out_channels = tuple(base_channels * 2**i * block.expansion
                                  for i in self.out_indices)
        self._freeze_stages()

    @staticmethod
    def _make_layer(block: type[nn.Module], inplanes: int, planes: int, blocks: int,
                    stride: int, norm_layer: Callable[[int], nn.Module]) -> nn.Sequential:
        """One stage: ``blocks`` residual blocks, the first with ``stride`` and a projection
        shortcut (``downsample = Sequential(1x1 conv, norm)``) when the shape changes."""
        downsample = None
        if stride != 1 or inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes * block.expansion, 1, stride=stride, bias=False),
                norm_layer(planes * block.expansion))
        layers = [block(inplanes, planes, stride, downsample, norm_layer=norm_layer)]
        for _ in range(1, blocks):
            layers.append(block(planes * block.expansion, planes, norm_layer=norm_layer))
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
