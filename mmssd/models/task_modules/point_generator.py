"""Points on the feature-map grids of several levels: the priors of anchor-free heads."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from mmssd.registry import TASK_UTILS

from .anchor_generator import _pair


@TASK_UTILS.register_module()
class MlvlPointGenerator:
    """mmdetection 2.x's ``MlvlPointGenerator``: one point per feature-map cell and level.

    The point of cell ``(i, j)`` of a level with stride ``(s_w, s_h)`` is
    ``((j + offset) * s_w, (i + offset) * s_h)``.

    Args:
        strides: per level a stride, or a ``(w, h)`` pair.
        offset: where in its cell a point lies (0.5: the centre; 0: the top-left corner).
    """

    def __init__(self, strides: Sequence, offset: float = 0.5) -> None:
        self.strides = [_pair(stride) for stride in strides]
        self.offset = offset

    @property
    def num_levels(self) -> int:
        """Number of feature levels."""
        return len(self.strides)

    @property
    def num_base_priors(self) -> list[int]:
        """Points per cell of every level (always 1)."""
        return [1] * self.num_levels

    def single_level_grid_priors(self, featmap_size: tuple[int, int], level_idx: int,
                                 dtype: torch.dtype = torch.float32,
                                 device: torch.device | str = 'cpu',
                                 with_stride: bool = False) -> Tensor:
        """Points ``(H * W, 2)`` ``[x, y]`` of one level, ordered ``(H, W)``; with
        ``with_stride`` ``(H * W, 4)`` ``[x, y, stride_w, stride_h]``."""
        feat_h, feat_w = int(featmap_size[0]), int(featmap_size[1])
        stride_w, stride_h = self.strides[level_idx]
        shift_x = (torch.arange(feat_w, device=device) + self.offset) * stride_w
        shift_y = (torch.arange(feat_h, device=device) + self.offset) * stride_h
        yy, xx = torch.meshgrid(shift_y.to(dtype), shift_x.to(dtype), indexing='ij')
        columns = [xx.reshape(-1), yy.reshape(-1)]
        if with_stride:
            columns += [xx.new_full((xx.numel(),), stride_w),
                        yy.new_full((yy.numel(),), stride_h)]
        return torch.stack(columns, dim=-1)

    def grid_priors(self, featmap_sizes: Sequence[tuple[int, int]],
                    dtype: torch.dtype = torch.float32, device: torch.device | str = 'cpu',
                    with_stride: bool = False) -> list[Tensor]:
        """Per level, points ``(H_l * W_l, 2)`` (``(H_l * W_l, 4)`` with ``with_stride``)."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature maps for {self.num_levels} point '
                             f'levels: {list(featmap_sizes)}')
        return [self.single_level_grid_priors(size, level, dtype, device, with_stride)
                for level, size in enumerate(featmap_sizes)]

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(strides={self.strides}, offset={self.offset})'
