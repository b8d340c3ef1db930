"""mmdetection 2.x's ``AnchorFreeHead``: dense heads that predict from points, not anchors.

The base of FCOS. It owns the point generator (one point per feature-map cell and level),
the conv towers (``stacked_convs`` ConvModules, GroupNorm named ``gn`` when ``norm_cfg``
says so), the 3x3 predictors ``conv_cls`` / ``conv_reg`` and the box coder (distances from
points, ``DistancePointBBoxCoder``). Post-processing and test-time augmentation are
:class:`~mmssd.models.dense_heads.BaseDenseHead`'s, as for
:class:`~mmssd.models.dense_heads.AnchorHead`, so detectors, TTA and export treat both
alike. Subclasses add their targets and losses.

Shapes: ``B`` images, ``L`` levels of ``(H_l, W_l)`` cells, ``N = sum_l H_l * W_l`` points
per image ordered ``(level, H, W)``, ``C`` classes, ``K = cls_out_channels``.
"""
from __future__ import annotations

import inspect
from collections.abc import Sequence

from mmcv.cnn import ConvModule
from torch import Tensor, nn

from mmssd.registry import MODELS, TASK_UTILS

from ..utils.cfg_keys import (
    ConfigKeyError,
    build_checked,
    invalid_cfg_value,
)
from .base_dense_head import BaseDenseHead

#: Keys an anchor-free head refuses, with what to do instead.
ANCHOR_KEYS = {
    'anchor_generator': 'an anchor-free head places one point per feature-map cell; set '
                        '`strides` instead of an anchor generator',
}


@MODELS.register_module()
class AnchorFreeHead(BaseDenseHead):
    """Anchor-free dense head (mmdetection 2.x arguments and module names).

    On every level the feature ``(B, in_channels, H, W)`` goes through ``cls_convs`` and
    ``reg_convs`` (``stacked_convs`` 3x3 ConvModules each, ReLU), then ``conv_cls`` to
    ``(B, K, H, W)`` and ``conv_reg`` to ``(B, 4, H, W)``; layers are shared by all levels.

    Args:
        num_classes: foreground classes ``C``.
        in_channels: channels of every input level.
        feat_channels: channels of the tower convs.
        stacked_convs: convs in each tower.
        strides: per level the stride of its points (``MlvlPointGenerator``).
        dcn_on_last_conv: deformable last tower conv: refused (needs compiled mmcv ops).
        conv_bias: bias of the tower convs; ``'auto'``: only without a norm layer.
        loss_cls: classification loss (default ``FocalLoss(gamma=2, alpha=0.25)``);
            ``use_sigmoid`` decides ``K``.
        loss_bbox: regression loss (default ``IoULoss``).
        bbox_coder: box coder (default ``DistancePointBBoxCoder``).
        conv_cfg, norm_cfg: layer configs of the tower convs (e.g. ``dict(type='GN',
            num_groups=32, requires_grad=True)``).
        train_cfg: keys :attr:`TRAIN_CFG_KEYS`.
        test_cfg: ``nms_pre``, ``nms``, ``score_thr``, ``max_per_img``, ``min_bbox_size``.
        init_cfg: default normal(std=0.01) convs, ``conv_cls`` bias for prior 0.01.
        **unknown: refused: ``anchor_generator`` (with what to set instead) or any other
            key (with the closest known one), as :class:`ConfigKeyError`.
    """

    def __init__(self, num_classes: int, in_channels: int, feat_channels: int = 256,
                 stacked_convs: int = 4, strides: Sequence[int] = (4, 8, 16, 32, 64),
                 dcn_on_last_conv: bool = False, conv_bias: bool | str = 'auto',
                 loss_cls: dict | None = None, loss_bbox: dict | None = None,
                 bbox_coder: dict | None = None, conv_cfg: dict | None = None,
                 norm_cfg: dict | None = None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | list | None = None,
                 **unknown) -> None:
        self._refuse_unknown(unknown)
        if init_cfg is None:
            init_cfg = {'type': 'Normal', 'layer': 'Conv2d', 'std': 0.01,
                        'override': {'type': 'Normal', 'name': 'conv_cls', 'std': 0.01,
                                     'bias_prob': 0.01}}
        if dcn_on_last_conv:
            raise invalid_cfg_value(
                'dcn_on_last_conv', 'deformable convolution needs compiled mmcv ops, which '
                'mmssd does not use; set dcn_on_last_conv=False')
        if conv_bias != 'auto' and not isinstance(conv_bias, bool):
            raise invalid_cfg_value('conv_bias', f"expected 'auto', True or False, got "
                                    f'{conv_bias!r}')
        super().__init__(num_classes, in_channels, feat_channels, train_cfg, test_cfg, init_cfg)
        self.stacked_convs = stacked_convs
        self.strides = list(strides)
        self.dcn_on_last_conv = dcn_on_last_conv
        self.conv_bias = conv_bias
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        loss_cls = loss_cls or {'type': 'FocalLoss', 'use_sigmoid': True, 'gamma': 2.0,
                                'alpha': 0.25, 'loss_weight': 1.0}
        self.use_sigmoid_cls = bool(loss_cls.get('use_sigmoid', False))
        self.cls_out_channels = num_classes + (0 if self.use_sigmoid_cls else 1)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox or {'type': 'IoULoss', 'loss_weight': 1.0})
        self.bbox_coder = build_checked(TASK_UTILS, bbox_coder or
                                        {'type': 'DistancePointBBoxCoder'}, 'bbox_coder')
        self.prior_generator = TASK_UTILS.build({'type': 'MlvlPointGenerator',
                                                 'strides': self.strides})
        self._init_layers()

    def _refuse_unknown(self, unknown: dict) -> None:
        """Raise :class:`ConfigKeyError` for the first key no constructor took."""
        for key in unknown:
            if key in ANCHOR_KEYS:
                raise invalid_cfg_value(key, f'{type(self).__name__} takes no {key}: '
                                        f'{ANCHOR_KEYS[key]}')
            known = {name for cls in type(self).__mro__ if '__init__' in vars(cls)
                     for name, param in inspect.signature(cls.__init__).parameters.items()
                     if param.kind is param.POSITIONAL_OR_KEYWORD and name != 'self'}
            raise ConfigKeyError('', key, 'unknown', sorted(known))

    # ----------------------------------------------------------------------------- layers
    def _init_layers(self) -> None:
        """The towers and predictors (called by the constructor)."""
        self.cls_convs = self._tower()
        self.reg_convs = self._tower()
        self.conv_cls = nn.Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.conv_reg = nn.Conv2d(self.feat_channels, 4, 3, padding=1)

    def _tower(self) -> nn.ModuleList:
        return nn.ModuleList([
            ConvModule(self.in_channels if i == 0 else self.feat_channels, self.feat_channels,
                       3, stride=1, padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                       bias=self.conv_bias)
            for i in range(self.stacked_convs)])

    def forward_single(self, feat: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """One level ``(B, in_channels, H, W)`` -> ``cls_score (B, K, H, W)``, ``bbox_pred
        (B, 4, H, W)`` and the towers' outputs ``cls_feat``, ``reg_feat``."""
        cls_feat, reg_feat = feat, feat
        for conv in self.cls_convs:
            cls_feat = conv(cls_feat)
        for conv in self.reg_convs:
            reg_feat = conv(reg_feat)
        return self.conv_cls(cls_feat), self.conv_reg(reg_feat), cls_feat, reg_feat

    def forward(self, feats: Sequence[Tensor]) -> tuple[list[Tensor], ...]:
        """Features ``[(B, in_channels, H_l, W_l)]`` -> ``(cls_scores, bbox_preds)``."""
        outs = [self.forward_single(feat)[:2] for feat in feats]
        return [o[0] for o in outs], [o[1] for o in outs]

    #: Per level the points ``(H_l * W_l, 2)`` ``[x, y]``, shared by all images (cached).
    get_points = BaseDenseHead.mlvl_priors
