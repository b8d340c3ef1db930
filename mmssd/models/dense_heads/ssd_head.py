"""SSD head: per-level conv predictors, softmax scores, SSD loss with hard negative mining.

An :class:`AnchorHead` (anchors, batched target assignment, box coding, post-processing)
with SSD's layers and loss. Shapes: ``B`` images, ``L`` levels, ``A_l`` anchors per
location of level ``l``, ``C`` foreground classes (``C + 1`` softmax outputs, background is
the last index ``C``), ``N = sum_l H_l * W_l * A_l`` anchors per image.

Differences from mmdetection 2.x, none of which changes results for SSD's fixed-size inputs:
every anchor takes part in assignment (``allowed_border=-1`` only), and the loss is returned
as one scalar per term (mmdetection returns a list of per-image terms whose sum is the same
value). Anchors, losses and decoding run in float32.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from torch import Tensor, nn

from mmssd.registry import MODELS

from ..losses import hard_negative_sum, smooth_l1_loss, weight_reduce_loss
from ..utils import scale_factors_tensor
from ..utils.cfg_keys import invalid_cfg_value, require_cfg_key
from .anchor_head import AnchorHead, AnchorTargets, levels_to_batch

# SSD's targets are the shared anchor head's; the old names stay importable from here
SSDTargets = AnchorTargets
__all__ = ['SSDHead', 'SSDTargets', 'levels_to_batch', 'scale_factors_tensor']


@MODELS.register_module()
class SSDHead(AnchorHead):
    """SSD head (mmdetection 2.x semantics and module names).

    Per level ``l``, ``cls_convs[l]`` maps the feature ``(B, in_channels[l], H, W)`` to
    ``(B, A_l * (C + 1), H, W)`` and ``reg_convs[l]`` to ``(B, A_l * 4, H, W)``.

    Args:
        num_classes: foreground classes ``C``.
        in_channels: channels of each input level.
        stacked_convs: extra convs before the predictors (0 in SSD).
        feat_channels: channels of those extra convs.
        use_depthwise: SSDLite predictors (depthwise 3x3 ConvModule, then 1x1 conv).
        conv_cfg, norm_cfg, act_cfg: layer configs of the extra / depthwise convs.
        anchor_generator: config of the prior generator (``TASK_UTILS``).
        bbox_coder: config of the box coder (``TASK_UTILS``).
        reg_decoded_bbox: regress decoded boxes instead of deltas.
        train_cfg: ``assigner``, optional ``sampler`` (default ``PseudoSampler``),
            ``smoothl1_beta``, ``allowed_border`` (-1 only), ``pos_weight``,
            ``neg_pos_ratio``, ``debug``.
        test_cfg: ``nms_pre``, ``nms``, ``score_thr``, ``max_per_img``, ``min_bbox_size``
            (detections with a side below it are dropped before NMS).
        init_cfg: mmengine init config (default Xavier uniform for convs).
    """

    TRAIN_CFG_KEYS = AnchorHead.TRAIN_CFG_KEYS + ('smoothl1_beta', 'neg_pos_ratio')

    def __init__(self, num_classes: int = 80,
                 in_channels: Sequence[int] = (512, 1024, 512, 256, 256, 256),
                 stacked_convs: int = 0, feat_channels: int = 256, use_depthwise: bool = False,
                 conv_cfg: dict | None = None, norm_cfg: dict | None = None,
                 act_cfg: dict | None = None, anchor_generator: dict | None = None,
                 bbox_coder: dict | None = None, reg_decoded_bbox: bool = False,
                 train_cfg: dict | None = None, test_cfg: dict | None = None,
                 init_cfg: dict | list | None = None) -> None:
        if init_cfg is None:
            init_cfg = {'type': 'Xavier', 'layer': 'Conv2d', 'distribution': 'uniform', 'bias': 0}
        if anchor_generator is None:
            anchor_generator = {
                'type': 'SSDAnchorGenerator', 'scale_major': False, 'input_size': 300,
                'strides': [8, 16, 32, 64, 100, 300],
                'ratios': ([2], [2, 3], [2, 3], [2, 3], [2], [2]),
                'basesize_ratio_range': (0.1, 0.9)}
        if bbox_coder is None:
            bbox_coder = {'type': 'DeltaXYWHBBoxCoder', 'clip_border': True,
                          'target_means': [.0, .0, .0, .0], 'target_stds': [1.0, 1.0, 1.0, 1.0]}
        if train_cfg and train_cfg.get('allowed_border', -1) >= 0:
            raise invalid_cfg_value('allowed_border', 'SSDHead supports only -1 (every anchor '
                                    f"takes part in assignment), got {train_cfg['allowed_border']}",
                                    'train_cfg')
        # read by _init_layers, which the base constructor calls
        self.stacked_convs = stacked_convs
        self.use_depthwise = use_depthwise
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        super().__init__(num_classes, tuple(in_channels), feat_channels,
                         anchor_generator=anchor_generator, bbox_coder=bbox_coder,
                         reg_decoded_bbox=reg_decoded_bbox, train_cfg=train_cfg,
                         test_cfg=test_cfg, init_cfg=init_cfg)

    def check_cfgs(self, train_cfg: dict | None, test_cfg: dict | None) -> None:
        """:meth:`BaseDenseHead.check_cfgs`; SSD's loss also needs ``train_cfg.neg_pos_ratio``."""
        super().check_cfgs(train_cfg, test_cfg)
        if train_cfg:
            require_cfg_key(train_cfg, 'neg_pos_ratio', 'train_cfg',
                            'negatives kept per positive by hard negative mining (3 in SSD)')

    # ----------------------------------------------------------------------------- layers
    def _init_losses(self, loss_cls: dict | None, loss_bbox: dict | None) -> None:
        """SSD's loss is its own (softmax cross-entropy with hard negative mining, smooth
        L1 with ``train_cfg.smoothl1_beta``): no loss modules."""
        self.use_sigmoid_cls = False
        self.sampling = True  # train_cfg.sampler is used when given
        self.cls_out_channels = self.num_classes + 1  # background is the last class

    def _init_layers(self) -> None:
        if len(self.num_base_priors) != len(self.in_channels):
            raise ValueError(f'{len(self.in_channels)} input levels but the anchor generator '
                             f'has {len(self.num_base_priors)}')
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for channels, num_priors in zip(self.in_channels, self.num_base_priors, strict=True):
            self.cls_convs.append(self._predictor(channels, num_priors * self.cls_out_channels))
            self.reg_convs.append(self._predictor(channels, num_priors * 4))

    def _predictor(self, in_channels: int, out_channels: int) -> nn.Sequential:
        """Optional conv tower, SSDLite's depthwise conv, then the predicting conv."""
        common = {'conv_cfg': self.conv_cfg, 'norm_cfg': self.norm_cfg, 'act_cfg': self.act_cfg}
        tower_conv = DepthwiseSeparableConvModule if self.use_depthwise else ConvModule
        layers: list[nn.Module] = []
        for _ in range(self.stacked_convs):
            layers.append(tower_conv(in_channels, self.feat_channels, 3, padding=1, **common))
            in_channels = self.feat_channels
        if self.use_depthwise:
            layers.append(ConvModule(in_channels, in_channels, 3, padding=1, groups=in_channels,
                                     **common))
            layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=1, padding=0))
        else:
            layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
        return nn.Sequential(*layers)

    def forward(self, feats: Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """Features ``[(B, in_channels[l], H_l, W_l)]`` -> ``(cls_scores, bbox_preds)``:
        ``[(B, A_l * (C + 1), H_l, W_l)]`` and ``[(B, A_l * 4, H_l, W_l)]``."""
        cls_scores = [cls_conv(feat) for feat, cls_conv in zip(feats, self.cls_convs, strict=True)]
        bbox_preds = [reg_conv(feat) for feat, reg_conv in zip(feats, self.reg_convs, strict=True)]
        return cls_scores, bbox_preds

    # ----------------------------------------------------------------------------- training
    def loss_from_targets(self, all_cls_scores: Tensor, all_bbox_preds: Tensor, anchors: Tensor,
                          targets: AnchorTargets,
                          num_level_anchors: Sequence[int] | None = None) -> dict[str, Tensor]:
        """The loss of ``all_cls_scores (B, N, C + 1)`` and ``all_bbox_preds (B, N, 4)``
        (``num_level_anchors`` unused)."""
        batch_size, num_anchors = targets.labels.shape
        loss_cls_all = F.cross_entropy(all_cls_scores.reshape(-1, self.cls_out_channels),
                                       targets.labels.reshape(-1), reduction='none')
        loss_cls_all = loss_cls_all.view(batch_size, num_anchors) * targets.label_weights
        pos_mask = targets.labels < self.num_classes
        neg_mask = targets.labels == self.num_classes
        num_neg = self.train_cfg['neg_pos_ratio'] * pos_mask.sum(dim=1)
        loss_cls_pos = torch.where(pos_mask, loss_cls_all, torch.zeros_like(loss_cls_all)).sum()
        loss_cls_neg = hard_negative_sum(loss_cls_all, neg_mask, num_neg)
        loss_cls = (loss_cls_pos + loss_cls_neg) / targets.num_total_pos

        bbox_preds = all_bbox_preds
        if self.reg_decoded_bbox:
            bbox_preds = self.bbox_coder.decode(anchors[None].expand_as(bbox_preds), bbox_preds)
        loss_bbox = smooth_l1_loss(bbox_preds, targets.bbox_targets,
                                   beta=self.train_cfg.get('smoothl1_beta', 1.0))
        loss_bbox = weight_reduce_loss(loss_bbox, targets.bbox_weights, 'mean',
                                       avg_factor=targets.num_total_pos)
        return {'loss_cls': loss_cls, 'loss_bbox': loss_bbox}
