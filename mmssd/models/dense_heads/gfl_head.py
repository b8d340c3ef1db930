"""GFL head (Li et al. 2020, generalized focal loss): ATSS's towers and assignment, a joint
classification-IoU score trained with the quality focal loss, and box sides regressed as
discrete distributions over ``0..reg_max`` strides, trained with GIoU and the distribution
focal loss.

An :class:`AnchorHead` (via :class:`ATSSHead`'s towers): anchors, batched assignment and
post-processing are the base's. Shapes: ``B`` images, ``C`` classes, ``N`` anchors per
image (one per location), ``R = reg_max``, ``P`` positives of the batch.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmssd.registry import MODELS
from mmssd.structures.bbox import bbox_overlaps

from ..layers import Integral
from ..task_modules.distance_point_bbox_coder import bbox2distance, distance2bbox
from ..utils import reduce_mean
from .anchor_head import AnchorHead, AnchorTargets
from .atss_head import GN_32, GNTowerMixin


def anchor_centers(anchors: Tensor) -> Tensor:
    """Centres ``(..., 2)`` of anchors ``(..., 4)``."""
    return torch.stack([(anchors[..., 0] + anchors[..., 2]) / 2,
                        (anchors[..., 1] + anchors[..., 3]) / 2], dim=-1)


@MODELS.register_module()
class GFLHead(GNTowerMixin, AnchorHead):
    """GFL head with mmdetection 2.x's arguments and module names.

    Per level the feature goes through ``cls_convs`` then ``gfl_cls`` to logits
    ``(B, C, H, W)`` (sigmoid: the joint class-and-quality score), and through
    ``reg_convs`` then ``gfl_reg`` (times the level's ``scales[l]``) to
    ``(B, 4 * (R + 1), H, W)``, the logits of the 4 side distributions; ``integral``
    (:class:`~mmssd.models.layers.Integral`) turns them into distances in strides.

    Training (the whole batch at once): ATSS targets; at positives the decoded box (anchor
    centre and distances, in strides) is compared with the ground truth by GIoU and by
    DFL on the 4 sides (both weighted by the detached best class score and divided by its
    sum); ``loss_cls`` is QFL whose positive targets are the IoU of the decoded box with
    its ground truth, divided by the positives.

    Args:
        num_classes, in_channels: as :class:`AnchorHead`.
        stacked_convs, feat_channels, conv_cfg, norm_cfg: the towers (default GroupNorm).
        loss_dfl: default ``DistributionFocalLoss(loss_weight=0.25)``.
        reg_max: the largest bin of the side distributions.
        anchor_generator: default ATSS's (one anchor of side 8 x stride, strides 8..128).
        loss_cls: default ``QualityFocalLoss(use_sigmoid=True, beta=2.0)``.
        loss_bbox: default ``GIoULoss(loss_weight=2.0)``.
        train_cfg, test_cfg, init_cfg: as :class:`AnchorHead` (``gfl_cls`` bias prior 0.01).
        bbox_coder: accepted for configs that name one; boxes are decoded from the
            distributions (``distance2bbox``).
    """

    def __init__(self, num_classes: int, in_channels: int, stacked_convs: int = 4,
                 feat_channels: int = 256, conv_cfg: dict | None = None,
                 norm_cfg: dict | None = None, loss_dfl: dict | None = None,
                 reg_max: int = 16, anchor_generator: dict | None = None,
                 loss_cls: dict | None = None, loss_bbox: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None,
                 init_cfg: dict | list | None = None, bbox_coder: dict | None = None) -> None:
        self.stacked_convs = stacked_convs
        self.conv_cfg = conv_cfg
        self.norm_cfg = dict(GN_32) if norm_cfg is None else norm_cfg
        self.reg_max = reg_max
        self.reg_out_channels = 4 * (reg_max + 1)
        super().__init__(
            num_classes, in_channels, feat_channels,
            anchor_generator=anchor_generator or {
                'type': 'AnchorGenerator', 'ratios': [1.0], 'octave_base_scale': 8,
                'scales_per_octave': 1, 'strides': [8, 16, 32, 64, 128]},
            bbox_coder=bbox_coder or {'type': 'DistancePointBBoxCoder'},
            reg_decoded_bbox=True,
            loss_cls=loss_cls or {'type': 'QualityFocalLoss', 'use_sigmoid': True,
                                  'beta': 2.0, 'loss_weight': 1.0},
            loss_bbox=loss_bbox or {'type': 'GIoULoss', 'loss_weight': 2.0},
            train_cfg=train_cfg, test_cfg=test_cfg,
            init_cfg=init_cfg or {'type': 'Normal', 'layer': 'Conv2d', 'std': 0.01,
                                  'override': {'type': 'Normal', 'name': 'gfl_cls',
                                               'std': 0.01, 'bias_prob': 0.01}})
        if not self.use_sigmoid_cls:
            raise ValueError('GFLHead needs sigmoid classification (loss_cls.use_sigmoid=True)')
        self.loss_dfl = MODELS.build(loss_dfl or {'type': 'DistributionFocalLoss',
                                                  'loss_weight': 0.25})
        self.integral = Integral(reg_max)

    def _init_layers(self) -> None:
        """Towers, predictors and scales; called by :class:`AnchorHead`'s constructor."""
        if self._same_priors_per_level() != 1:
            raise ValueError('GFLHead needs one anchor per location (anchor_generator with '
                             f'one ratio and one scale); got {self.num_base_priors}')
        self._init_towers()
        self.gfl_cls = nn.Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.gfl_reg = nn.Conv2d(self.feat_channels, self.reg_out_channels, 3, padding=1)

    def forward_single(self, feat: Tensor, scale: nn.Module) -> tuple[Tensor, Tensor]:
        """One level ``(B, in_channels, H, W)`` -> ``(B, C, H, W)``, ``(B, 4 (R + 1), H, W)``."""
        cls_feat, reg_feat = self.towers(feat)
        return self.gfl_cls(cls_feat), scale(self.gfl_reg(reg_feat)).float()

    def anchor_strides(self, num_level_anchors: Sequence[int], anchors: Tensor) -> Tensor:
        """``(N,)`` the stride of each anchor's level."""
        strides = [float(s[0]) for s in self.prior_generator.strides]
        return torch.cat([anchors.new_full((n,), s)
                          for n, s in zip(num_level_anchors, strides, strict=True)])

    def loss_from_targets(self, all_cls_scores: Tensor, all_bbox_preds: Tensor, anchors: Tensor,
                          targets: AnchorTargets,
                          num_level_anchors: Sequence[int] | None = None) -> dict[str, Tensor]:
        """``loss_cls`` (QFL), ``loss_bbox`` (GIoU) and ``loss_dfl`` of
        ``all_cls_scores (B, N, C)`` and ``all_bbox_preds (B, N, 4 (R + 1))``."""
        if num_level_anchors is None:
            raise ValueError('GFLHead.loss_from_targets needs num_level_anchors')
        pos = targets.bbox_weights[..., 0] > 0  # (B, N)
        quality = all_cls_scores.new_zeros(pos.shape)
        num_total_samples = targets.num_total_pos.clamp(min=1.0)
        if bool(pos.any()):
            pos_image, pos_anchor = pos.nonzero(as_tuple=True)
            strides = self.anchor_strides(num_level_anchors, anchors)[pos_anchor, None]
            centers = anchor_centers(anchors[pos_anchor]) / strides  # (P, 2), in strides
            pos_preds = all_bbox_preds[pos_image, pos_anchor]  # (P, 4 (R + 1))
            gts = targets.bbox_targets[pos_image, pos_anchor] / strides
            weight = all_cls_scores.detach()[pos_image, pos_anchor].sigmoid().amax(dim=1)
            decoded = distance2bbox(centers, self.integral(pos_preds))
            quality[pos_image, pos_anchor] = bbox_overlaps(decoded.detach(), gts,
                                                           is_aligned=True)
            corners = bbox2distance(centers, gts, self.reg_max).reshape(-1)
            avg_factor = reduce_mean(weight.sum()).clamp(min=1.0)
            loss_bbox = self.loss_bbox(decoded, gts, weight=weight, avg_factor=1.0) / avg_factor
            loss_dfl = self.loss_dfl(pos_preds.reshape(-1, self.reg_max + 1), corners,
                                     weight=weight[:, None].expand(-1, 4).reshape(-1),
                                     avg_factor=4.0) / avg_factor
        else:
            loss_bbox = loss_dfl = all_bbox_preds.sum() * 0
        loss_cls = self.loss_cls(all_cls_scores.reshape(-1, self.cls_out_channels),
                                 (targets.labels.reshape(-1), quality.reshape(-1)),
                                 weight=targets.label_weights.reshape(-1),
                                 avg_factor=num_total_samples)
        return {'loss_cls': loss_cls, 'loss_bbox': loss_bbox, 'loss_dfl': loss_dfl}

    def decode_level(self, level: int, anchors: Tensor, reg: Tensor, img_shapes: Tensor) -> Tensor:
        """Boxes ``(B, n, 4)``: anchor centres and the expected distances times the stride."""
        stride = float(self.prior_generator.strides[level][0])
        return distance2bbox(anchor_centers(anchors), self.integral(reg) * stride,
                             max_shape=img_shapes)
