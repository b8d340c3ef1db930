"""One bidirectional (top-down, then bottom-up) fusion pass of a BiFPN."""
from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from mmcv.cnn import DepthwiseSeparableConvModule
from torch import Tensor, nn

from .weighted_fusion import WeightedFusion


def resize_to(x: Tensor, like: Tensor) -> Tensor:
    """``x (B, C, h, w)`` brought to ``like``'s ``(H, W)``: nearest upsampling when it is
    smaller, stride-2 max pooling (then nearest resizing if still off) when larger."""
    if x.shape[-2:] == like.shape[-2:]:
        return x
    if x.shape[-1] > like.shape[-1]:
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
        if x.shape[-2:] == like.shape[-2:]:
            return x
    return F.interpolate(x, size=like.shape[-2:], mode='nearest')


class BiFPNLayer(nn.Module):
    """Top-down then bottom-up weighted fusion of ``L`` maps of ``channels`` channels.

    Top-down, from the coarsest: ``td[l] = conv(fuse(p[l], up(td[l + 1])))``. Bottom-up,
    from the finest: ``out[l] = conv(fuse(p[l], td[l], down(out[l - 1])))`` (the coarsest
    level has no ``td`` of its own and fuses two maps). Convs are depthwise separable
    3x3 ConvModules.

    Args:
        num_levels: ``L``.
        channels: channels of every map.
        norm_cfg, act_cfg: layer configs of the fusion convs.
    """

    def __init__(self, num_levels: int, channels: int, norm_cfg: dict | None = None,
                 act_cfg: dict | None = None) -> None:
        super().__init__()
        if num_levels < 2:
            raise ValueError(f'a BiFPN layer needs at least 2 levels, got {num_levels}')
        self.num_levels = num_levels

        def conv() -> DepthwiseSeparableConvModule:
            return DepthwiseSeparableConvModule(channels, channels, 3, padding=1,
                                                norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.td_fusions = nn.ModuleList(WeightedFusion(2) for _ in range(num_levels - 1))
        self.td_convs = nn.ModuleList(conv() for _ in range(num_levels - 1))
        self.bu_fusions = nn.ModuleList(
            WeightedFusion(2 if level == num_levels - 1 else 3)
            for level in range(1, num_levels))
        self.bu_convs = nn.ModuleList(conv() for _ in range(num_levels - 1))

    def forward(self, feats: Sequence[Tensor]) -> list[Tensor]:
        """``L`` maps ``(B, channels, H_l, W_l)`` (finest first) -> ``L`` maps of the same
        shapes."""
        if len(feats) != self.num_levels:
            raise ValueError(f'expected {self.num_levels} levels, got {len(feats)}')
        top = self.num_levels - 1
        td: list[Tensor] = [None] * self.num_levels  # type: ignore[list-item]
        td[top] = feats[top]
        for level in range(top - 1, -1, -1):
            fused = self.td_fusions[level]([feats[level], resize_to(td[level + 1], feats[level])])
            td[level] = self.td_convs[level](fused)
        outs = [td[0]]
        for level in range(1, self.num_levels):
            down = resize_to(outs[-1], feats[level])
            sources = [feats[level], down] if level == top else [feats[level], td[level], down]
            outs.append(self.bu_convs[level - 1](self.bu_fusions[level - 1](sources)))
        return outs
