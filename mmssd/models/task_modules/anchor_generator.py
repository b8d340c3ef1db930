"""Anchor generators with mmdetection 2.x semantics (anchor order, centres, sizes).

Anchors of one level are ordered ``(H, W, A)`` row-major, which is the order of a head's
output ``(B, A*K, H, W)`` after ``permute(0, 2, 3, 1).reshape(B, -1, K)``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from mmssd.registry import TASK_UTILS

from ..utils.cfg_keys import invalid_cfg_value


def _pair(value: float | Sequence[float], key: str = 'strides') -> tuple[float, float]:
    """``(w, h)`` of a number or a pair (``key``: the config key, for the error)."""
    if isinstance(value, Sequence):
        if len(value) != 2:
            raise invalid_cfg_value(key, f'each entry must be a number or a (w, h) pair, got '
                                    f'{value!r}')
        return value[0], value[1]
    return value, value


def _check_per_level(key: str, values: Sequence, num_levels: int) -> None:
    """Raise naming ``key`` unless it has one entry per level."""
    if len(values) != num_levels:
        raise invalid_cfg_value(key, f'expected one entry per level ({num_levels} levels from '
                                f'strides), got {len(values)}: {list(values)!r}')


@TASK_UTILS.register_module()
class AnchorGenerator:
    """Standard anchor generator for 2D anchor-based detectors (mmdetection's).

    Args:
        strides: per level, the stride ``s`` or ``(s_w, s_h)``.
        ratios: height/width ratios shared by all levels.
        scales: anchor scales shared by all levels (or use the octave arguments).
        base_sizes: per level base size; defaults to the strides.
        scale_major: order base anchors scale-major (``True``) or ratio-major.
        octave_base_scale, scales_per_octave: RetinaNet-style scales.
        centers: per level ``(x, y)`` centre of the base anchors; overrides ``center_offset``.
        center_offset: centre offset relative to the base size when ``centers`` is None.
    """

    def __init__(self, strides: Sequence, ratios: Sequence[float],
                 scales: Sequence[float] | None = None, base_sizes: Sequence[int] | None = None,
                 scale_major: bool = True, octave_base_scale: int | None = None,
                 scales_per_octave: int | None = None,
                 centers: Sequence[tuple[float, float]] | None = None,
                 center_offset: float = 0.) -> None:
        if center_offset != 0 and centers is not None:
            raise invalid_cfg_value('centers', f'cannot be set together with center_offset='
                                    f'{center_offset}')
        if not 0 <= center_offset <= 1:
            raise invalid_cfg_value('center_offset', f'expected a value in [0, 1], got '
                                    f'{center_offset}')
        if centers is not None:
            _check_per_level('centers', centers, len(strides))
        self.strides = [_pair(stride) for stride in strides]
        self.base_sizes = ([min(stride) for stride in self.strides]
                           if base_sizes is None else list(base_sizes))
        _check_per_level('base_sizes', self.base_sizes, len(self.strides))
        if (scales is None) == (octave_base_scale is None):
            raise invalid_cfg_value('scales', 'give either scales or octave_base_scale with '
                                    f'scales_per_octave, got scales={scales!r}, '
                                    f'octave_base_scale={octave_base_scale!r}')
        if scales is not None:
            self.scales = torch.Tensor(scales)
        else:
            octave_scales = np.array(
                [2**(i / scales_per_octave) for i in range(scales_per_octave)])
            self.scales = torch.Tensor(octave_scales * octave_base_scale)
        self.ratios = torch.Tensor(ratios)
        self.scale_major = scale_major
        self.centers = centers
        self.center_offset = center_offset
        self.base_anchors = self.gen_base_anchors()

    @property
    def num_levels(self) -> int:
        """Number of feature levels."""
        return len(self.strides)

    @property
    def num_base_priors(self) -> list[int]:
        """Anchors per location, per level."""
        return [base_anchors.size(0) for base_anchors in self.base_anchors]

    def gen_base_anchors(self) -> list[Tensor]:
        """Per level, the base anchors ``(A, 4)`` of the cell at the origin."""
        return [
            self.gen_single_level_base_anchors(
                base_size, scales=self.scales, ratios=self.ratios,
                center=None if self.centers is None else self.centers[i])
            for i, base_size in enumerate(self.base_sizes)
        ]

    def gen_single_level_base_anchors(self, base_size: float, scales: Tensor, ratios: Tensor,
                                      center: tuple[float, float] | None = None) -> Tensor:
        """Base anchors ``(len(scales) * len(ratios), 4)`` of one level.

        Scale-major order is ``[r0s0, r0s1, ..., r1s0, ...]``; otherwise ``[s0r0, s0r1, ...]``.
        """
        w = h = base_size
        if center is None:
            x_center, y_center = self.center_offset * w, self.center_offset * h
        else:
            x_center, y_center = center
        h_ratios = torch.sqrt(ratios)
        w_ratios = 1 / h_ratios
        if self.scale_major:
            ws = (w * w_ratios[:, None] * scales[None, :]).view(-1)
            hs = (h * h_ratios[:, None] * scales[None, :]).view(-1)
        else:
            ws = (w * scales[:, None] * w_ratios[None, :]).view(-1)
            hs = (h * scales[:, None] * h_ratios[None, :]).view(-1)
        return torch.stack(
            [x_center - 0.5 * ws, y_center - 0.5 * hs, x_center + 0.5 * ws, y_center + 0.5 * hs],
            dim=-1)

    def single_level_grid_priors(self, featmap_size: tuple[int, int], level_idx: int,
                                 dtype: torch.dtype = torch.float32,
                                 device: torch.device | str = 'cpu') -> Tensor:
        """Anchors ``(H * W * A, 4)`` of one level, ordered ``(H, W, A)``."""
        base_anchors = self.base_anchors[level_idx].to(device=device, dtype=dtype)
        feat_h, feat_w = featmap_size[0], featmap_size[1]
        if not torch.jit.is_tracing():  # traced: sizes stay tensors, the grid follows the input
            feat_h, feat_w = int(feat_h), int(feat_w)
        stride_w, stride_h = self.strides[level_idx]
        shift_x = torch.arange(0, feat_w, device=device).to(dtype) * stride_w
        shift_y = torch.arange(0, feat_h, device=device).to(dtype) * stride_h
        shift_yy, shift_xx = torch.meshgrid(shift_y, shift_x, indexing='ij')
        shift_xx, shift_yy = shift_xx.reshape(-1), shift_yy.reshape(-1)
        shifts = torch.stack([shift_xx, shift_yy, shift_xx, shift_yy], dim=-1)
        return (base_anchors[None, :, :] + shifts[:, None, :]).view(-1, 4)

    def grid_priors(self, featmap_sizes: Sequence[tuple[int, int]],
                    dtype: torch.dtype = torch.float32,
                    device: torch.device | str = 'cpu') -> list[Tensor]:
        """Per level, anchors ``(H_l * W_l * A_l, 4)`` for feature maps of ``featmap_sizes``."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature maps for {self.num_levels} anchor '
                             f'levels: {list(featmap_sizes)}')
        return [
            self.single_level_grid_priors(featmap_sizes[i], i, dtype=dtype, device=device)
            for i in range(self.num_levels)
        ]

    def valid_flags(self, featmap_sizes: Sequence[tuple[int, int]], pad_shape: Sequence[int],
                    device: torch.device | str = 'cpu') -> list[Tensor]:
        """mmdetection's valid flags of one image: per level ``(H_l * W_l * A_l,)`` bool, True
        at the anchors of the feature-map cells that fall inside ``pad_shape (h, w, ...)``."""
        return [flags[0] for flags in self.batch_valid_flags(featmap_sizes, [pad_shape], device)]

    def batch_valid_flags(self, featmap_sizes: Sequence[tuple[int, int]],
                          pad_shapes: Sequence[Sequence[int]],
                          device: torch.device | str = 'cpu') -> list[Tensor]:
        """:meth:`valid_flags` of ``B`` images at once: per level ``(B, H_l * W_l * A_l)``.

        On level ``l`` the valid cells of an image padded to ``(h, w)`` are the first
        ``min(ceil(h / stride_h), H_l)`` rows and ``min(ceil(w / stride_w), W_l)`` columns;
        the rest cover only the padding added to batch images of other sizes.
        """
        flags = []
        for level, (feat_h, feat_w) in enumerate(featmap_sizes):
            stride_w, stride_h = self.strides[level]
            valid_hw = torch.tensor(
                [[min(math.ceil(shape[0] / stride_h), int(feat_h)),
                  min(math.ceil(shape[1] / stride_w), int(feat_w))] for shape in pad_shapes],
                device=device)
            valid_y = torch.arange(int(feat_h), device=device) < valid_hw[:, :1]  # (B, H)
            valid_x = torch.arange(int(feat_w), device=device) < valid_hw[:, 1:]  # (B, W)
            valid = valid_y[:, :, None, None] & valid_x[:, None, :, None]  # (B, H, W, 1)
            num_priors = self.num_base_priors[level]
            flags.append(valid.expand(-1, -1, -1, num_priors).reshape(len(pad_shapes), -1))
        return flags

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(strides={self.strides}, '
                f'base_sizes={self.base_sizes}, num_base_priors={self.num_base_priors})')


def ssd_anchor_sizes(input_size: int, basesize_ratio_range: tuple[float, float],
                     num_levels: int) -> tuple[list[int], list[int]]:
    """mmdetection's hard-coded SSD300/SSD512 ``(min_sizes, max_sizes)``.

    For SSD300 COCO ``(0.15, 0.9)``: ``[21, 45, 99, 153, 207, 261]`` and
    ``[45, 99, 153, 207, 261, 315]``.
    """
    min_ratio, max_ratio = (int(r * 100) for r in basesize_ratio_range)
    step = int(np.floor(max_ratio - min_ratio) / (num_levels - 2))
    min_sizes, max_sizes = [], []
    for ratio in range(min_ratio, max_ratio + 1, step):
        min_sizes.append(int(input_size * ratio / 100))
        max_sizes.append(int(input_size * (ratio + step) / 100))
    first_level = {
        (300, 0.15): (7, 15),  # SSD300 COCO
        (300, 0.2): (10, 20),  # SSD300 VOC
        (512, 0.1): (4, 10),  # SSD512 COCO
        (512, 0.15): (7, 15),  # SSD512 VOC
    }
    key = (input_size, basesize_ratio_range[0])
    if key not in first_level:
        raise ValueError(
            'SSDAnchorGenerator without min_sizes/max_sizes supports input_size 300 with '
            'basesize_ratio_range[0] 0.15 or 0.2 and input_size 512 with 0.1 or 0.15, got '
            f'input_size={input_size}, basesize_ratio_range={basesize_ratio_range}; '
            'give min_sizes and max_sizes for other settings.')
    first_min, first_max = first_level[key]
    min_sizes.insert(0, int(input_size * first_min / 100))
    max_sizes.insert(0, int(input_size * first_max / 100))
    return min_sizes, max_sizes


@TASK_UTILS.register_module()
class SSDAnchorGenerator(AnchorGenerator):
    """SSD anchors (mmdetection 2.x): per level a min-size square, a ``sqrt(min*max)`` square,
    and min-size boxes of ratios ``1/r, r`` for each ``r`` in ``ratios[level]``.

    Base anchors are centred at ``(stride / 2, stride / 2)``; level ``l`` thus has
    ``2 + 2 * len(ratios[l])`` anchors per location, ordered
    ``[min square, sqrt(min*max) square, 1/r0, r0, 1/r1, r1, ...]``.

    Args:
        strides: per level, the stride ``s`` or ``(s_w, s_h)``.
        ratios: per level, the extra aspect ratios.
        min_sizes, max_sizes: per level anchor sizes; if None, derived from
            ``basesize_ratio_range`` and ``input_size`` (300 or 512) as mmdetection does.
        basesize_ratio_range: ratio range of anchor sizes to the input size.
        input_size: the network input size, for the derived sizes.
        scale_major: order of the base anchors before SSD's re-ordering (mmdetection's
            SSD configs use False).
    """

    def __init__(self, strides: Sequence, ratios: Sequence[Sequence[float]],
                 min_sizes: Sequence[int] | None = None, max_sizes: Sequence[int] | None = None,
                 basesize_ratio_range: tuple[float, float] = (0.15, 0.9),
                 input_size: int = 300, scale_major: bool = True) -> None:
        _check_per_level('ratios', ratios, len(strides))
        if (min_sizes is None) != (max_sizes is None):
            raise invalid_cfg_value('min_sizes', 'give both min_sizes and max_sizes, or neither; '
                                    f'got min_sizes={min_sizes!r}, max_sizes={max_sizes!r}')
        self.strides = [_pair(stride) for stride in strides]
        self.centers = [(stride[0] / 2., stride[1] / 2.) for stride in self.strides]
        self.input_size = input_size
        self.basesize_ratio_range = tuple(basesize_ratio_range)
        if min_sizes is None:
            min_sizes, max_sizes = ssd_anchor_sizes(input_size, self.basesize_ratio_range,
                                                    self.num_levels)
        _check_per_level('min_sizes', min_sizes, len(strides))
        _check_per_level('max_sizes', max_sizes, len(strides))
        self.base_sizes = list(min_sizes)
        self.max_sizes = list(max_sizes)
        self.scales = [torch.Tensor([1., np.sqrt(max_size / min_size)])
                       for min_size, max_size in zip(min_sizes, max_sizes, strict=True)]
        self.ratios = [torch.Tensor([1.] + [x for r in level_ratios for x in (1 / r, r)])
                       for level_ratios in ratios]
        self.scale_major = scale_major
        self.center_offset = 0
        self.base_anchors = self.gen_base_anchors()

    def gen_base_anchors(self) -> list[Tensor]:
        """Per level, the SSD base anchors ``(2 + 2 * len(ratios[l]), 4)``."""
        multi_level_base_anchors = []
        for i, base_size in enumerate(self.base_sizes):
            base_anchors = self.gen_single_level_base_anchors(
                base_size, scales=self.scales[i], ratios=self.ratios[i], center=self.centers[i])
            indices = list(range(len(self.ratios[i])))
            indices.insert(1, len(indices))
            multi_level_base_anchors.append(
                torch.index_select(base_anchors, 0, torch.LongTensor(indices)))
        return multi_level_base_anchors
