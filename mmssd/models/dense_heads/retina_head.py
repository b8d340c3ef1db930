"""RetinaNet head (Lin et al. 2017): shared conv towers, sigmoid classification, focal loss.

An :class:`AnchorHead` with RetinaNet's layers: the anchor generator, assigner, box coder,
batched target assignment, the ``loss_cls`` / ``loss_bbox`` loss and post-processing are
the base's. Shapes: ``B`` images, ``A`` anchors per location (the same on every
level), ``C`` classes (``C`` sigmoid outputs, no background column), ``N`` anchors per image.
"""
from __future__ import annotations

from mmcv.cnn import ConvModule
from torch import Tensor, nn

from mmssd.registry import MODELS

from .anchor_head import AnchorHead


@MODELS.register_module()
class RetinaHead(AnchorHead):
    """RetinaNet head with mmdetection 2.x's module names.

    On every level the feature ``(B, in_channels, H, W)`` goes through ``cls_convs``
    (``stacked_convs`` 3x3 ConvModules with ReLU) then ``retina_cls`` to logits
    ``(B, A * C, H, W)``, and through ``reg_convs`` then ``retina_reg`` to deltas
    ``(B, A * 4, H, W)``; the layers are shared by all levels.

    Training: anchors are assigned as in :class:`AnchorHead` (``MaxIoUAssigner``, usually
    ``pos_iou_thr=0.5, neg_iou_thr=0.4``); ``loss_cls`` (sigmoid focal loss: no sampler)
    covers every positive and negative anchor and ``loss_bbox`` (L1 on deltas) the
    positives, both averaged over the number of positives. Testing: sigmoid scores, the
    ``nms_pre`` best anchors per level, then per-class NMS.

    Args:
        num_classes: foreground classes ``C``.
        in_channels: channels of every input level.
        stacked_convs: convs in each tower.
        feat_channels: channels of the tower convs.
        conv_cfg, norm_cfg: layer configs of the tower convs.
        act_cfg: activation of the tower convs (default ReLU).
        anchor_generator: prior generator config (default RetinaNet's: octave base scale 4,
            3 scales per octave, ratios 0.5/1/2, strides 8..128).
        bbox_coder: box coder config (default ``DeltaXYWHBBoxCoder``, means 0, stds 1).
        loss_cls: classification loss (default ``FocalLoss(gamma=2, alpha=0.25)``).
        loss_bbox: regression loss (default ``L1Loss``).
        reg_decoded_bbox: regress decoded boxes (for IoU losses) instead of deltas.
        train_cfg, test_cfg: as :class:`AnchorHead`.
        init_cfg: default normal(std=0.01) convs, classifier bias ``-log((1 - 0.01) / 0.01)``.
    """

    def __init__(self, num_classes: int, in_channels: int, stacked_convs: int = 4,
                 feat_channels: int = 256, conv_cfg: dict | None = None,
                 norm_cfg: dict | None = None, act_cfg: dict | None = None,
                 anchor_generator: dict | None = None, bbox_coder: dict | None = None,
                 loss_cls: dict | None = None, loss_bbox: dict | None = None,
                 reg_decoded_bbox: bool = False, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | list | None = None) -> None:
        if anchor_generator is None:
            anchor_generator = {'type': 'AnchorGenerator', 'octave_base_scale': 4,
                                'scales_per_octave': 3, 'ratios': [0.5, 1.0, 2.0],
                                'strides': [8, 16, 32, 64, 128]}
        if bbox_coder is None:
            bbox_coder = {'type': 'DeltaXYWHBBoxCoder', 'target_means': [.0, .0, .0, .0],
                          'target_stds': [1.0, 1.0, 1.0, 1.0]}
        if init_cfg is None:
            init_cfg = {'type': 'Normal', 'layer': 'Conv2d', 'std': 0.01,
                        'override': {'type': 'Normal', 'name': 'retina_cls', 'std': 0.01,
                                     'bias_prob': 0.01}}
        # read by _init_layers, which the base constructor calls
        self.stacked_convs = stacked_convs
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = {'type': 'ReLU'} if act_cfg is None else act_cfg
        super().__init__(
            num_classes, in_channels, feat_channels, anchor_generator=anchor_generator,
            bbox_coder=bbox_coder, reg_decoded_bbox=reg_decoded_bbox,
            loss_cls=loss_cls or {'type': 'FocalLoss', 'use_sigmoid': True, 'gamma': 2.0,
                                  'alpha': 0.25, 'loss_weight': 1.0},
            loss_bbox=loss_bbox or {'type': 'L1Loss', 'loss_weight': 1.0},
            train_cfg=train_cfg, test_cfg=test_cfg, init_cfg=init_cfg)

    def _init_layers(self) -> None:
        """The towers and predictors; called by :class:`AnchorHead`'s constructor."""
        num_priors = self._same_priors_per_level()
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        common = {'conv_cfg': self.conv_cfg, 'norm_cfg': self.norm_cfg, 'act_cfg': self.act_cfg}
        for i in range(self.stacked_convs):
            channels = self.in_channels if i == 0 else self.feat_channels
            self.cls_convs.append(ConvModule(channels, self.feat_channels, 3, padding=1,
                                             **common))
            self.reg_convs.append(ConvModule(channels, self.feat_channels, 3, padding=1,
                                             **common))
        tower_out = self.feat_channels if self.stacked_convs else self.in_channels
        self.retina_cls = nn.Conv2d(tower_out, num_priors * self.cls_out_channels, 3, padding=1)
        self.retina_reg = nn.Conv2d(tower_out, num_priors * 4, 3, padding=1)

    def forward_single(self, feat: Tensor) -> tuple[Tensor, Tensor]:
        """One level ``(B, in_channels, H, W)`` -> ``(B, A * C, H, W)``, ``(B, A * 4, H, W)``."""
        cls_feat, reg_feat = feat, feat
        for cls_conv, reg_conv in zip(self.cls_convs, self.reg_convs, strict=True):
            cls_feat = cls_conv(cls_feat)
            reg_feat = reg_conv(reg_feat)
        return self.retina_cls(cls_feat), self.retina_reg(reg_feat)
