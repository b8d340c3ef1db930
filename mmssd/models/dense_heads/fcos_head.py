"""FCOS head (Tian et al. 2019): per-point classification, distances and centerness.

An :class:`AnchorFreeHead` with FCOS's centerness branch and per-level learnable scales.
Training targets come from :func:`fcos_point_targets`, computed for the whole batch at
once. Shapes: ``B`` images, ``L`` levels, ``N = sum_l H_l * W_l`` points per image in the
order ``(level, H, W)``, ``C`` classes (sigmoid outputs).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import torch
from mmcv.cnn import Scale
from torch import Tensor, nn

from mmssd.registry import MODELS

from ..utils import pad_instances, reduce_mean
from ..utils.cfg_keys import invalid_cfg_value
from ..utils.mlvl_outputs import levels_to_batch
from .anchor_free_head import AnchorFreeHead
from .fcos_targets import FCOSTargets, fcos_point_targets

INF = 1e8
#: FCOS's default tower norm (mmdetection's); ``norm_cfg=None`` means no norm layer.
GN_32 = MappingProxyType({'type': 'GN', 'num_groups': 32, 'requires_grad': True})

#: Keys of mmdetection's FCOS ``train_cfg`` that configure anchor machinery FCOS has not.
ANCHOR_TRAIN_KEYS = ('assigner', 'sampler')


@MODELS.register_module()
class FCOSHead(AnchorFreeHead):
    """FCOS head with mmdetection 2.x's arguments and module names.

    On every level, after the towers: ``conv_cls`` logits ``(B, C, H, W)``; ``conv_reg``
    distances times the level's ``scales[l]``, then ``exp`` (or, with ``norm_on_bbox``,
    ReLU, and at test time times the stride) ``(B, 4, H, W)``; ``conv_centerness``
    logits ``(B, 1, H, W)`` on the classification tower (the regression tower with
    ``centerness_on_reg``).

    Training: a point is positive for the smallest GT it lies in (its centre region with
    ``center_sampling``) whose largest side distance fits the level's regress range;
    ``loss_cls`` (focal) over all points averaged over positives, ``loss_bbox`` (IoU of
    the decoded boxes) weighted by the centerness targets, ``loss_centerness`` (sigmoid
    cross-entropy) over positives. Testing: sigmoid scores; per level the ``nms_pre``
    points of highest ``score * centerness``; ``score_thr`` on the score, then NMS on
    ``score * centerness`` (mmdetection 2.x).

    Args:
        num_classes, in_channels: see :class:`AnchorFreeHead`.
        regress_ranges: per level ``(lo, hi)``; as many as ``strides``.
        center_sampling: positives only near GT centres.
        center_sample_radius: the centre region's half size in strides.
        norm_on_bbox: regress distances in strides (ReLU instead of ``exp``).
        centerness_on_reg: centerness from the regression tower.
        loss_cls, loss_bbox: default focal loss and ``IoULoss``.
        loss_centerness: default ``CrossEntropyLoss(use_sigmoid=True)``.
        norm_cfg: tower norm, default ``GN`` with 32 groups (None: no norm, conv biases).
        init_cfg: as :class:`AnchorFreeHead`.
        **kwargs: :class:`AnchorFreeHead`'s arguments (``strides``, ``stacked_convs``,
            ``feat_channels``, ``conv_bias``, ``train_cfg``, ``test_cfg``...).
    """

    #: ``allowed_border`` / ``pos_weight`` sit in mmdetection's FCOS configs and are unused
    #: there; accepted only at their no-op value -1.
    TRAIN_CFG_KEYS = ('allowed_border', 'pos_weight')

    def __init__(self, num_classes: int, in_channels: int,
                 regress_ranges: Sequence[tuple[float, float]] = (
                     (-1, 64), (64, 128), (128, 256), (256, 512), (512, INF)),
                 center_sampling: bool = False, center_sample_radius: float = 1.5,
                 norm_on_bbox: bool = False, centerness_on_reg: bool = False,
                 loss_cls: dict | None = None, loss_bbox: dict | None = None,
                 loss_centerness: dict | None = None, norm_cfg: Mapping | None = GN_32,
                 init_cfg: dict | list | None = None, **kwargs) -> None:
        self.regress_ranges = [tuple(r) for r in regress_ranges]
        self.center_sampling = center_sampling
        self.center_sample_radius = center_sample_radius
        self.norm_on_bbox = norm_on_bbox
        self.centerness_on_reg = centerness_on_reg
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, loss_bbox=loss_bbox,
                         norm_cfg=None if norm_cfg is None else dict(norm_cfg),
                         init_cfg=init_cfg, **kwargs)
        if len(self.regress_ranges) != len(self.strides):
            raise invalid_cfg_value(
                'regress_ranges', f'expected one (lo, hi) per level of strides '
                f'{self.strides} ({len(self.strides)}), got {len(self.regress_ranges)}: '
                f'{list(regress_ranges)}')
        self.loss_centerness = MODELS.build(loss_centerness or {
            'type': 'CrossEntropyLoss', 'use_sigmoid': True, 'loss_weight': 1.0})

    def check_cfgs(self, train_cfg: dict | None, test_cfg: dict | None) -> None:
        """Also refuse anchor-based ``train_cfg`` parts and live ``allowed_border`` /
        ``pos_weight`` values, naming the key."""
        for key in ANCHOR_TRAIN_KEYS:
            if train_cfg and key in train_cfg:
                kind = (train_cfg[key] or {}).get('type', key)
                raise invalid_cfg_value(
                    key, f'{type(self).__name__} assigns points to GTs by regress_ranges '
                    f'and centre sampling and takes no {key} (got {kind}, an anchor-based '
                    f"one; mmdetection's FCOS configs carry it unused): remove it", 'train_cfg')
        for key in self.TRAIN_CFG_KEYS:
            if train_cfg and train_cfg.get(key, -1) != -1:
                raise invalid_cfg_value(key, f'{type(self).__name__} does not use it; only '
                                        f'-1 is accepted, got {train_cfg[key]!r}', 'train_cfg')
        super().check_cfgs(train_cfg, test_cfg)

    def _init_layers(self) -> None:
        super()._init_layers()
        self.conv_centerness = nn.Conv2d(self.feat_channels, 1, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])

    def forward(self, feats: Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
        """Features ``[(B, in_channels, H_l, W_l)]`` -> ``cls_scores [(B, C, H_l, W_l)]``,
        ``bbox_preds [(B, 4, H_l, W_l)]`` (non-negative distances) and ``centernesses
        [(B, 1, H_l, W_l)]``."""
        outs = [self.forward_level(feat, scale, stride)
                for feat, scale, stride in zip(feats, self.scales, self.strides, strict=True)]
        return [o[0] for o in outs], [o[1] for o in outs], [o[2] for o in outs]

    def forward_level(self, feat: Tensor, scale: nn.Module,
                      stride: int) -> tuple[Tensor, Tensor, Tensor]:
        """One level: ``(B, C, H, W)``, ``(B, 4, H, W)``, ``(B, 1, H, W)``."""
        cls_score, bbox_pred, cls_feat, reg_feat = self.forward_single(feat)
        centerness = self.conv_centerness(reg_feat if self.centerness_on_reg else cls_feat)
        bbox_pred = scale(bbox_pred).float()
        if self.norm_on_bbox:
            bbox_pred = bbox_pred.clamp(min=0)
            if not self.training:
                bbox_pred = bbox_pred * stride
        else:
            bbox_pred = bbox_pred.exp()
        return cls_score, bbox_pred, centerness

    # ----------------------------------------------------------------------------- training
    def get_targets(self, mlvl_points: Sequence[Tensor], featmap_sizes: Sequence[tuple[int, int]],
                    gt_bboxes: Sequence[Tensor], gt_labels: Sequence[Tensor]) -> FCOSTargets:
        """Targets of all images at once (:func:`fcos_point_targets`), from per-image
        ``gt_bboxes (G_b, 4)`` and ``gt_labels (G_b,)``."""
        device = mlvl_points[0].device
        gts, valid = pad_instances([b.to(device=device, dtype=torch.float32).reshape(-1, 4)
                                    for b in gt_bboxes])
        labels, _ = pad_instances([lb.to(device=device, dtype=torch.long) for lb in gt_labels],
                                  pad_value=self.num_classes)
        return fcos_point_targets(mlvl_points, featmap_sizes, self.strides, self.regress_ranges,
                                  gts, valid, labels, self.num_classes, self.center_sampling,
                                  self.center_sample_radius, self.norm_on_bbox)

    @staticmethod
    def centerness_target(pos_bbox_targets: Tensor) -> Tensor:
        """``sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))`` of ``(n, 4)`` -> ``(n,)``."""
        left_right, top_bottom = pos_bbox_targets[:, [0, 2]], pos_bbox_targets[:, [1, 3]]
        if left_right.size(0) == 0:
            return left_right[:, 0]
        return torch.sqrt(left_right.min(-1).values / left_right.max(-1).values
                          * (top_bottom.min(-1).values / top_bottom.max(-1).values))

    def loss(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
             centernesses: Sequence[Tensor], gt_bboxes: Sequence[Tensor],
             gt_labels: Sequence[Tensor], img_metas: Sequence[dict],
             gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """``dict(loss_cls, loss_bbox, loss_centerness)`` of a batch (mmdetection 2.x's
        averaging: positives, and the centerness-target sum for ``loss_bbox``, each a mean
        over processes). ``gt_bboxes_ignore`` is not used (as mmdetection)."""
        if len(cls_scores) != len(self.strides):
            raise ValueError(f'{len(cls_scores)} levels of scores for {len(self.strides)} '
                             'strides')
        featmap_sizes = [tuple(score.shape[-2:]) for score in cls_scores]
        mlvl_points = self.get_points(featmap_sizes, cls_scores[0].device)
        targets = self.get_targets(mlvl_points, featmap_sizes, gt_bboxes, gt_labels)
        batch_size = cls_scores[0].size(0)
        # float32 losses under mixed precision, as AnchorHead
        flat_cls = levels_to_batch(cls_scores, self.cls_out_channels).reshape(
            -1, self.cls_out_channels).float()
        flat_bbox = levels_to_batch(bbox_preds, 4).reshape(-1, 4).float()
        flat_centerness = levels_to_batch(centernesses, 1).reshape(-1).float()
        labels = targets.labels.reshape(-1)
        pos_inds = (labels < self.num_classes).nonzero().reshape(-1)
        num_pos = reduce_mean(flat_cls.new_tensor(float(pos_inds.numel()))).clamp(min=1.0)
        loss_cls = self.loss_cls(flat_cls, labels, avg_factor=num_pos)
        pos_bbox_preds, pos_centerness = flat_bbox[pos_inds], flat_centerness[pos_inds]
        pos_bbox_targets = targets.bbox_targets.reshape(-1, 4)[pos_inds]
        pos_centerness_targets = self.centerness_target(pos_bbox_targets)
        if pos_inds.numel() == 0:
            return {'loss_cls': loss_cls, 'loss_bbox': pos_bbox_preds.sum(),
                    'loss_centerness': pos_centerness.sum()}
        centerness_denorm = reduce_mean(pos_centerness_targets.sum().detach()).clamp(min=1e-6)
        points = torch.cat(mlvl_points).repeat(batch_size, 1)[pos_inds]
        loss_bbox = self.loss_bbox(self.bbox_coder.decode(points, pos_bbox_preds),
                                   self.bbox_coder.decode(points, pos_bbox_targets),
                                   weight=pos_centerness_targets, avg_factor=centerness_denorm)
        loss_centerness = self.loss_centerness(pos_centerness, pos_centerness_targets,
                                               avg_factor=num_pos)
        return {'loss_cls': loss_cls, 'loss_bbox': loss_bbox, 'loss_centerness': loss_centerness}

    # ----------------------------------------------------------------------------- testing
    def mlvl_topk_decode(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                         centernesses: Sequence[Tensor], img_metas: Sequence[dict],
                         nms_pre: int = -1) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Per level the ``nms_pre`` points of highest ``score * sigmoid(centerness)`` of
        every image, decoded and clipped (:meth:`BaseDenseHead.mlvl_topk_decode` with the
        centernesses as score factors).

        Returns ``bboxes (B, n, 4)``, ``scores (B, n, C + 1)`` (background last), the level
        of each candidate ``level_ids (n,)`` and ``centerness (B, n)`` (the score factors).
        """
        return super().mlvl_topk_decode(cls_scores, bbox_preds, img_metas, nms_pre,
                                        score_factors=centernesses)

    def get_bboxes(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                   centernesses: Sequence[Tensor], img_metas: Sequence[dict],
                   cfg: dict | None = None, rescale: bool = True) -> list[tuple[Tensor, Tensor]]:
        """Detections of each image ``(det_bboxes (n, 5), det_labels (n,))``:
        :meth:`mlvl_topk_decode`, then NMS with the centerness as score factor."""
        return self.detections((cls_scores, bbox_preds, centernesses), img_metas, cfg, rescale)
