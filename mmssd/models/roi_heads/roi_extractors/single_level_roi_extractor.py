"""mmdetection's ``SingleRoIExtractor``: each RoI pooled from the one pyramid level of its size.

The RoI layers are torchvision's (``torchvision.ops.roi_align`` / ``roi_pool``), configured
with mmcv's ``roi_layer`` vocabulary so mmdetection 2.x configs work unchanged.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.utils import _pair
from torchvision.ops import RoIAlign, RoIPool

from mmssd.registry import MODELS

from ...utils.cfg_keys import check_cfg_keys, invalid_cfg_value, require_cfg_key

# per layer type: the mmcv arguments accepted, with the values that torchvision can serve
_ROI_LAYER_KEYS = {
    'RoIAlign': ('output_size', 'sampling_ratio', 'aligned', 'pool_mode', 'use_torchvision'),
    'RoIPool': ('output_size',),
}


def build_roi_layer(layer_cfg: dict, spatial_scale: float) -> nn.Module:
    """A torchvision RoI layer from an mmcv-style config.

    ``dict(type='RoIAlign', output_size, sampling_ratio=0, aligned=True, pool_mode='avg')``:
    :class:`torchvision.ops.RoIAlign` (``sampling_ratio <= 0``: adaptive, as mmcv's 0);
    ``use_torchvision`` is accepted (the layer is always torchvision's), ``pool_mode`` must
    be ``'avg'``. ``dict(type='RoIPool', output_size)``: :class:`torchvision.ops.RoIPool`
    (Caffe's rounding of the RoI to the feature grid; mmcv's RoIPool bins differ slightly).

    Raises:
        KeyError: unknown ``type`` (as the registries' ``UnknownTypeError``).
        ConfigKeyError: a key the layer does not support (with the closest one), a missing
            ``output_size``, an unsupported value (``pool_mode='max'``); the path is
            ``roi_layer.<key>``.
    """
    if not isinstance(layer_cfg, dict) or 'type' not in layer_cfg:
        raise KeyError(f"roi_layer must be a dict with a 'type', got {layer_cfg!r}")
    cfg = dict(layer_cfg)
    layer_type = cfg.pop('type')
    if layer_type not in _ROI_LAYER_KEYS:
        raise KeyError(f'roi_layer type {layer_type!r} is not supported; supported types: '
                       f'{sorted(_ROI_LAYER_KEYS)}')
    check_cfg_keys(cfg, _ROI_LAYER_KEYS[layer_type], 'roi_layer')
    output_size = _pair(require_cfg_key(cfg, 'output_size', 'roi_layer',
                                        f'{layer_type} needs the pooled size'))
    if layer_type == 'RoIPool':
        return RoIPool(output_size, spatial_scale)
    pool_mode = cfg.get('pool_mode', 'avg')
    if pool_mode != 'avg':
        raise invalid_cfg_value('pool_mode', f"RoIAlign supports 'avg' only, got {pool_mode!r}",
                                'roi_layer')
    return RoIAlign(output_size, spatial_scale, sampling_ratio=int(cfg.get('sampling_ratio', 0)),
                    aligned=bool(cfg.get('aligned', True)))


@MODELS.register_module()
class SingleRoIExtractor(BaseModule):
    """Pool ``(K, out_channels, h, w)`` features for ``K`` RoIs from a feature pyramid.

    RoI ``[b, x1, y1, x2, y2]`` with scale ``s = sqrt((x2 - x1) * (y2 - y1))`` goes to level
    ``floor(log2(s / finest_scale + 1e-6))`` clamped to ``[0, L - 1]`` (mmdetection's
    ``map_roi_levels``: with ``finest_scale=56``, RoIs under 112 px read level 0, under
    224 px level 1, ...), and is pooled there with that level's layer (``spatial_scale =
    1 / featmap_strides[l]``). Only the first ``L = len(featmap_strides)`` feature maps are
    used (mmdetection passes ``x[:num_inputs]``); extra levels (FPN's P6) are ignored.

    Args:
        roi_layer: ``dict(type='RoIAlign', output_size=7, sampling_ratio=0, aligned=True)``
            or ``dict(type='RoIPool', output_size=7)`` (see :func:`build_roi_layer`).
        out_channels: channels of the features (checked at forward).
        featmap_strides: stride of each used level, finest first.
        finest_scale: the RoI scale that maps to level 0's upper bound / 2.
        init_cfg: mmengine init config (the extractor has no parameters).
    """

    def __init__(self, roi_layer: dict, out_channels: int, featmap_strides: Sequence[int],
                 finest_scale: int = 56, init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        if not isinstance(featmap_strides, Sequence) or len(featmap_strides) == 0:
            raise ValueError('featmap_strides must be a non-empty list of strides, got '
                             f'{featmap_strides!r}')
        if any(s <= 0 for s in featmap_strides):
            raise ValueError(f'featmap_strides must be positive, got {list(featmap_strides)}')
        if finest_scale <= 0:
            raise ValueError(f'finest_scale must be positive, got {finest_scale}')
        self.roi_layers = nn.ModuleList(
            build_roi_layer(roi_layer, 1.0 / s) for s in featmap_strides)
        self.out_channels = out_channels
        self.featmap_strides = list(featmap_strides)
        self.finest_scale = finest_scale
        self.output_size = _pair(roi_layer['output_size'])

    @property
    def num_inputs(self) -> int:
        """Number of feature levels read."""
        return len(self.featmap_strides)

    def map_roi_levels(self, rois: Tensor, num_levels: int) -> Tensor:
        """``(K,)`` long level of each RoI ``(K, 5)`` in ``[0, num_levels - 1]``."""
        scale = torch.sqrt((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]))
        target_lvls = torch.floor(torch.log2(scale / self.finest_scale + 1e-6))
        return target_lvls.clamp(min=0, max=num_levels - 1).long()

    @staticmethod
    def roi_rescale(rois: Tensor, scale_factor: float) -> Tensor:
        """RoIs ``(K, 5)`` with width and height scaled by ``scale_factor`` about their centres."""
        cxy = (rois[:, 1:3] + rois[:, 3:5]) * 0.5
        half = (rois[:, 3:5] - rois[:, 1:3]) * (0.5 * scale_factor)
        return torch.cat([rois[:, :1], cxy - half, cxy + half], dim=1)

    def forward(self, feats: Sequence[Tensor], rois: Tensor,
                roi_scale_factor: float | None = None) -> Tensor:
        """Pooled features ``(K, out_channels, h, w)`` of ``rois (K, 5)``, in the rois' order.

        Args:
            feats: at least ``L`` maps ``(B, out_channels, H_l, W_l)``, finest first.
            rois: ``[batch_index, x1, y1, x2, y2]`` in input-image pixels.
            roi_scale_factor: enlarge (or shrink) the RoIs by this factor first (the level
                is chosen from the original RoI, as mmdetection does).
        """
        num_levels = self.num_inputs
        if len(feats) < num_levels:
            raise ValueError(f'SingleRoIExtractor has {num_levels} featmap_strides '
                             f'{self.featmap_strides} but got {len(feats)} feature maps')
        feats = feats[:num_levels]
        for level, feat in enumerate(feats):
            if feat.size(1) != self.out_channels:
                raise ValueError(f'feature level {level} has {feat.size(1)} channels, '
                                 f'out_channels is {self.out_channels}')
        if rois.dim() != 2 or rois.size(1) != 5:
            raise ValueError(f'rois must be (K, 5) [batch_index, x1, y1, x2, y2], got shape '
                             f'{tuple(rois.shape)}')
        roi_feats = feats[0].new_zeros((rois.size(0), self.out_channels, *self.output_size))
        if rois.size(0) == 0:
            return roi_feats
        target_lvls = self.map_roi_levels(rois, num_levels) if num_levels > 1 else None
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        if not torch.is_autocast_enabled(feats[0].device.type):
            # torchvision's RoI ops want one dtype; under autocast they run in float32 and
            # the RoIs keep their float32 precision
            rois = rois.to(feats[0].dtype)
        if target_lvls is None:
            return self.roi_layers[0](feats[0], rois)
        if torch.jit.is_tracing():
            # exported graphs: which level a RoI reads is data, so every level pools every
            # RoI and a mask keeps its own level's features (no data-dependent branch)
            for level, (feat, layer) in enumerate(zip(feats, self.roi_layers, strict=True)):
                mask = (target_lvls == level).to(roi_feats.dtype)[:, None, None, None]
                roi_feats = roi_feats + layer(feat, rois).to(roi_feats.dtype) * mask
            return roi_feats
        for level, (feat, layer) in enumerate(zip(feats, self.roi_layers, strict=True)):
            inds = (target_lvls == level).nonzero(as_tuple=True)[0]
            if inds.numel() > 0:
                roi_feats[inds] = layer(feat, rois[inds]).to(roi_feats.dtype)
        return roi_feats
