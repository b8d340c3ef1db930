"""ATSS head (Zhang et al. 2020): RetinaNet-like towers with GroupNorm, one square anchor per
location, adaptive training sample selection, GIoU on decoded boxes and a centerness branch.

An :class:`AnchorHead`: anchors, batched assignment (``ATSSAssigner``), box coding and
post-processing are the base's. Shapes: ``B`` images, ``A`` anchors per location, ``C``
classes, ``N`` anchors per image, ``P`` positives of the batch.

mmdetection returns the centerness as a third output; mmssd keeps the dense heads'
``(cls_scores, bbox_preds)`` pair, so ``bbox_preds`` carries per anchor the 4 deltas
followed by the centerness logit (``reg_out_channels = 5``): the detector, test-time
augmentation and export handle ATSS like RetinaNet. At test time the per-level ``nms_pre``
candidates are the best by ``sigmoid(cls) * sigmoid(centerness)`` (as mmdetection 2.0-2.17;
later 2.x versions rank by the class score alone), and the centerness is the score factor of
``multiclass_nms``: ``score_thr`` filters the class scores, which are then multiplied by it.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmcv.cnn import ConvModule, Scale
from torch import Tensor, nn

from mmssd.registry import MODELS

from ..utils import reduce_mean
from .anchor_head import AnchorHead, AnchorTargets


def centerness_target(anchors: Tensor, gts: Tensor) -> Tensor:
    """Centerness ``(P,)`` of anchor centres inside their ground truths ``gts (P, 4)``:
    ``sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))`` of the distances to the sides."""
    cx = (anchors[:, 0] + anchors[:, 2]) / 2
    cy = (anchors[:, 1] + anchors[:, 3]) / 2
    left_right = torch.stack([cx - gts[:, 0], gts[:, 2] - cx], dim=1)
    top_bottom = torch.stack([cy - gts[:, 1], gts[:, 3] - cy], dim=1)
    return torch.sqrt(left_right.amin(1) / left_right.amax(1)
                      * (top_bottom.amin(1) / top_bottom.amax(1)))


class GNTowerMixin:
    """The GroupNorm conv towers of ATSS and GFL (mmdetection's ``cls_convs`` /
    ``reg_convs`` of ``ConvModule``\\s named ``conv`` and ``gn``) and the per-level
    learnable ``scales`` of the regression output."""

    def _init_towers(self) -> None:
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i in range(self.stacked_convs):
            channels = self.in_channels if i == 0 else self.feat_channels
            for tower in (self.cls_convs, self.reg_convs):
                tower.append(ConvModule(channels, self.feat_channels, 3, stride=1, padding=1,
                                        conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.prior_generator.strides])

    def towers(self, feat: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, in_channels, H, W)`` -> the two towers' ``(B, feat_channels, H, W)``."""
        cls_feat, reg_feat = feat, feat
        for cls_conv, reg_conv in zip(self.cls_convs, self.reg_convs, strict=True):
            cls_feat = cls_conv(cls_feat)
            reg_feat = reg_conv(reg_feat)
        return cls_feat, reg_feat

    def forward(self, feats: Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """Features ``[(B, in_channels, H_l, W_l)]`` -> ``(cls_scores, bbox_preds)``,
        each level through ``forward_single`` with its scale."""
        outs = [self.forward_single(feat, scale)
                for feat, scale in zip(feats, self.scales, strict=True)]
        return [cls for cls, _ in outs], [reg for _, reg in outs]


GN_32 = {'type': 'GN', 'num_groups': 32, 'requires_grad': True}


@MODELS.register_module()
class ATSSHead(GNTowerMixin, AnchorHead):
    """ATSS head with mmdetection 2.x's arguments and module names.

    Per level the feature goes through ``cls_convs`` then ``atss_cls`` to logits
    ``(B, A * C, H, W)``, and through ``reg_convs`` then ``atss_reg`` (times the level's
    ``scales[l]``) and ``atss_centerness``: ``bbox_preds (B, A * 5, H, W)``, per anchor
    deltas ``(4)`` then the centerness logit.

    Training: targets of the whole batch from :meth:`AnchorHead.get_targets` (ground-truth
    boxes at positives, ``reg_decoded_bbox=True``); ``loss_cls`` (focal) over every anchor
    divided by the positives; ``loss_bbox`` (GIoU of decoded boxes) weighted by the
    centerness target and divided by its sum; ``loss_centerness`` (sigmoid cross-entropy
    against the centerness target) divided by the positives.

    Args:
        num_classes, in_channels: as :class:`AnchorHead`.
        stacked_convs: convs in each tower.
        feat_channels: channels of the tower convs.
        conv_cfg, norm_cfg: layer configs of the tower convs (default GroupNorm, 32 groups).
        reg_decoded_bbox: must stay True (GIoU on decoded boxes).
        loss_centerness: default ``CrossEntropyLoss(use_sigmoid=True)``.
        anchor_generator, bbox_coder, loss_cls, loss_bbox: defaults mmdetection's ATSS
            (one anchor of side 8 x stride, stds 0.1/0.1/0.2/0.2, focal loss, GIoU x 2).
        train_cfg, test_cfg, init_cfg: as :class:`AnchorHead` (``atss_cls`` bias prior 0.01).
    """

    reg_out_channels = 5

    def __init__(self, num_classes: int, in_channels: int, stacked_convs: int = 4,
                 feat_channels: int = 256, conv_cfg: dict | None = None,
                 norm_cfg: dict | None = None, reg_decoded_bbox: bool = True,
                 loss_centerness: dict | None = None, anchor_generator: dict | None = None,
                 bbox_coder: dict | None = None, loss_cls: dict | None = None,
                 loss_bbox: dict | None = None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | list | None = None) -> None:
        if not reg_decoded_bbox:
            raise ValueError('ATSSHead regresses decoded boxes (GIoU): reg_decoded_bbox must '
                             'be True')
        self.stacked_convs = stacked_convs
        self.conv_cfg = conv_cfg
        self.norm_cfg = dict(GN_32) if norm_cfg is None else norm_cfg
        super().__init__(
            num_classes, in_channels, feat_channels,
            anchor_generator=anchor_generator or {
                'type': 'AnchorGenerator', 'ratios': [1.0], 'octave_base_scale': 8,
                'scales_per_octave': 1, 'strides': [8, 16, 32, 64, 128]},
            bbox_coder=bbox_coder or {'type': 'DeltaXYWHBBoxCoder',
                                      'target_means': [.0, .0, .0, .0],
                                      'target_stds': [0.1, 0.1, 0.2, 0.2]},
            reg_decoded_bbox=True,
            loss_cls=loss_cls or {'type': 'FocalLoss', 'use_sigmoid': True, 'gamma': 2.0,
                                  'alpha': 0.25, 'loss_weight': 1.0},
            loss_bbox=loss_bbox or {'type': 'GIoULoss', 'loss_weight': 2.0},
            train_cfg=train_cfg, test_cfg=test_cfg,
            init_cfg=init_cfg or {'type': 'Normal', 'layer': 'Conv2d', 'std': 0.01,
                                  'override': {'type': 'Normal', 'name': 'atss_cls',
                                               'std': 0.01, 'bias_prob': 0.01}})
        self.loss_centerness = MODELS.build(loss_centerness or {
            'type': 'CrossEntropyLoss', 'use_sigmoid': True, 'loss_weight': 1.0})

    def _init_layers(self) -> None:
        """Towers, predictors and scales; called by :class:`AnchorHead`'s constructor."""
        self._init_towers()
        num_priors = self._same_priors_per_level()
        self.atss_cls = nn.Conv2d(self.feat_channels, num_priors * self.cls_out_channels, 3,
                                  padding=1)
        self.atss_reg = nn.Conv2d(self.feat_channels, num_priors * 4, 3, padding=1)
        self.atss_centerness = nn.Conv2d(self.feat_channels, num_priors, 3, padding=1)

    def forward_single(self, feat: Tensor, scale: nn.Module) -> tuple[Tensor, Tensor]:
        """One level ``(B, in_channels, H, W)`` -> ``(B, A * C, H, W)``, ``(B, A * 5, H, W)``."""
        cls_feat, reg_feat = self.towers(feat)
        reg = scale(self.atss_reg(reg_feat)).float()
        centerness = self.atss_centerness(reg_feat).float()
        batch, _, height, width = reg.shape
        bbox_pred = torch.cat([reg.view(batch, -1, 4, height, width),
                               centerness.view(batch, -1, 1, height, width)], dim=2)
        return self.atss_cls(cls_feat), bbox_pred.view(batch, -1, height, width)

    def loss_from_targets(self, all_cls_scores: Tensor, all_bbox_preds: Tensor, anchors: Tensor,
                          targets: AnchorTargets,
                          num_level_anchors: Sequence[int] | None = None) -> dict[str, Tensor]:
        """``loss_cls``, ``loss_bbox``, ``loss_centerness`` of ``all_cls_scores (B, N, C)``
        and ``all_bbox_preds (B, N, 5)`` against the batch's ``targets``."""
        num_total_samples = targets.num_total_pos.clamp(min=1.0)
        loss_cls = self.loss_cls(all_cls_scores.reshape(-1, self.cls_out_channels),
                                 targets.labels.reshape(-1), targets.label_weights.reshape(-1),
                                 avg_factor=num_total_samples)
        pos = targets.bbox_weights[..., 0] > 0  # (B, N)
        if not bool(pos.any()):
            zero = all_bbox_preds.sum() * 0
            return {'loss_cls': loss_cls, 'loss_bbox': zero, 'loss_centerness': zero}
        pos_anchors = anchors[None].expand(pos.size(0), -1, -1)[pos]  # (P, 4)
        pos_targets = targets.bbox_targets[pos]
        pos_preds = all_bbox_preds[pos]  # (P, 5)
        centerness = centerness_target(pos_anchors, pos_targets)
        decoded = self.bbox_coder.decode(pos_anchors, pos_preds[:, :4])
        bbox_avg_factor = reduce_mean(centerness.sum().detach()).clamp(min=1.0)
        loss_bbox = self.loss_bbox(decoded, pos_targets, weight=centerness,
                                   avg_factor=1.0) / bbox_avg_factor
        loss_centerness = self.loss_centerness(pos_preds[:, 4], centerness,
                                               avg_factor=num_total_samples)
        return {'loss_cls': loss_cls, 'loss_bbox': loss_bbox,
                'loss_centerness': loss_centerness}

    def level_score_factors(self, reg: Tensor, score_factor: Tensor | None) -> Tensor:
        """``sigmoid(centerness)`` ``(B, n)``: it ranks the ``nms_pre`` candidates (times
        the class score) and multiplies their scores after the ``score_thr`` filter."""
        return reg[..., 4].sigmoid()

    def decode_level(self, level: int, anchors: Tensor, reg: Tensor, img_shapes: Tensor) -> Tensor:
        """Boxes ``(B, n, 4)`` from the deltas ``reg[..., :4]``."""
        return self.bbox_coder.decode(anchors, reg[..., :4], max_shape=img_shapes)
