"""``YOLOXHead``: YOLOX's decoupled anchor-free head (mmdetection 2.x names and losses).

Shapes: ``B`` images, levels of ``(H_l, W_l)`` cells with strides ``s_l``, ``N = sum_l H_l
W_l`` points per image ordered ``(level, H, W)``, ``C`` classes, ``G`` the largest
ground-truth count of the batch.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmssd.registry import MODELS, TASK_UTILS

from ..layers.csp_layer import YOLOX_ACT, YOLOX_NORM, conv_module
from ..utils import pad_instances, reduce_mean
from ..utils.cfg_keys import build_checked
from ..utils.mlvl_outputs import levels_to_batch
from .base_dense_head import BaseDenseHead


def bbox_xyxy_to_cxcywh(bboxes: Tensor) -> Tensor:
    """``(..., 4)`` corners -> ``(..., 4)`` centre and size."""
    return torch.cat([(bboxes[..., :2] + bboxes[..., 2:]) / 2, bboxes[..., 2:] - bboxes[..., :2]],
                     -1)


@MODELS.register_module()
class YOLOXHead(BaseDenseHead):
    """YOLOX head: per level, ``stacked_convs`` convs of a classification and a regression
    branch, then 1x1 predictors ``conv_cls (B, C, H, W)``, ``conv_reg (B, 4, H, W)`` (centre
    offset and log size, in strides, from the cell's top-left point) and ``conv_obj (B, 1,
    H, W)`` (objectness), each level with its own layers (``multi_level_*``).

    Training: :class:`~mmssd.models.task_modules.SimOTAAssigner` assigns the whole batch
    at once (``assign_batched``); the classification target is the one-hot label times the
    IoU of the prediction, ``loss_obj`` covers every point, ``loss_cls`` and ``loss_bbox``
    the positives, and ``loss_l1`` (on the raw offsets) only once :attr:`use_l1` is set
    (``YOLOXModeSwitchHook``). All are divided by the positives' count, averaged over the
    processes.

    Testing: score = max class probability x objectness, one label per point (the
    highest class); :meth:`mlvl_topk_decode` is pure tensor operations, and NMS, rescaling
    and test-time augmentation are the dense heads' (``dense_detections``,
    ``dense_aug_bboxes``). Unlike mmdetection, which keeps scores ``>= score_thr``, the
    shared NMS keeps scores ``> score_thr``.

    Args:
        num_classes: foreground classes ``C``.
        in_channels: channels of every input level.
        feat_channels: channels of the branch convs.
        stacked_convs: convs per branch.
        strides: strides of the levels.
        use_depthwise: depthwise-separable branch convs.
        dcn_on_last_conv: must be False (no compiled mmcv ops).
        conv_bias: bias of the branch convs (``'auto'``: without a norm layer only).
        conv_cfg, norm_cfg, act_cfg: of the branch convs.
        loss_cls, loss_bbox, loss_obj, loss_l1: mmdetection 2.x's defaults.
        train_cfg: ``assigner`` (default ``SimOTAAssigner(center_radius=2.5)``).
        test_cfg: ``score_thr``, ``nms``, ``max_per_img`` (default: all).
    """

    TRAIN_CFG_KEYS = ('assigner',)
    TEST_CFG_KEYS = ('score_thr', 'nms', 'max_per_img')
    grid_priors_kwargs = MappingProxyType({'with_stride': True})

    def __init__(self, num_classes: int, in_channels: int, feat_channels: int = 256,
                 stacked_convs: int = 2, strides: Sequence[int] = (8, 16, 32),
                 use_depthwise: bool = False, dcn_on_last_conv: bool = False,
                 conv_bias: bool | str = 'auto', conv_cfg: dict | None = None,
                 norm_cfg: dict = YOLOX_NORM, act_cfg: dict = YOLOX_ACT,
                 loss_cls: dict | None = None, loss_bbox: dict | None = None,
                 loss_obj: dict | None = None, loss_l1: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None,
                 init_cfg: dict | list | None = None) -> None:
        if dcn_on_last_conv:
            raise ValueError('YOLOXHead: dcn_on_last_conv needs compiled mmcv ops, which mmssd '
                             'does not use; set it to False')
        super().__init__(num_classes, in_channels, feat_channels, train_cfg, test_cfg, init_cfg)
        self.cls_out_channels = num_classes
        self.use_sigmoid_cls = True
        self.stacked_convs = stacked_convs
        self.strides = list(strides)
        self.use_l1 = False
        sigmoid_ce = dict(type='CrossEntropyLoss', use_sigmoid=True, reduction='sum',
                          loss_weight=1.0)
        self.loss_cls = MODELS.build(loss_cls or sigmoid_ce)
        self.loss_bbox = MODELS.build(loss_bbox or dict(
            type='IoULoss', mode='square', eps=1e-16, reduction='sum', loss_weight=5.0))
        self.loss_obj = MODELS.build(loss_obj or sigmoid_ce)
        self.loss_l1 = MODELS.build(loss_l1 or dict(type='L1Loss', reduction='sum',
                                                    loss_weight=1.0))
        self.prior_generator = TASK_UTILS.build(dict(type='MlvlPointGenerator',
                                                     strides=self.strides, offset=0))
        assigner = (train_cfg or {}).get('assigner', dict(type='SimOTAAssigner',
                                                          center_radius=2.5))
        self.assigner = build_checked(TASK_UTILS, assigner, 'train_cfg.assigner')
        layer_cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, bias=conv_bias)
        conv = conv_module(use_depthwise)

        def branch() -> nn.Sequential:
            return nn.Sequential(*[conv(in_channels if i == 0 else feat_channels, feat_channels,
                                        3, stride=1, padding=1, **layer_cfg)
                                   for i in range(stacked_convs)])

        self.multi_level_cls_convs = nn.ModuleList([branch() for _ in self.strides])
        self.multi_level_reg_convs = nn.ModuleList([branch() for _ in self.strides])
        self.multi_level_conv_cls = nn.ModuleList(
            [nn.Conv2d(feat_channels, num_classes, 1) for _ in self.strides])
        self.multi_level_conv_reg = nn.ModuleList(
            [nn.Conv2d(feat_channels, 4, 1) for _ in self.strides])
        self.multi_level_conv_obj = nn.ModuleList(
            [nn.Conv2d(feat_channels, 1, 1) for _ in self.strides])
        self._init_prior_biases()

    def _init_prior_biases(self) -> None:
        """Class and objectness biases at a 0.01 prior probability (mmdetection)."""
        bias = -math.log((1 - 0.01) / 0.01)
        for conv_cls, conv_obj in zip(self.multi_level_conv_cls, self.multi_level_conv_obj,
                                      strict=True):
            nn.init.constant_(conv_cls.bias, bias)
            nn.init.constant_(conv_obj.bias, bias)

    def init_weights(self) -> None:
        super().init_weights()
        self._init_prior_biases()

    def forward(self, feats: Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
        """Levels ``(B, in_channels, H_l, W_l)`` -> per level ``cls_scores (B, C, H_l, W_l)``,
        ``bbox_preds (B, 4, H_l, W_l)``, ``objectnesses (B, 1, H_l, W_l)`` (logits)."""
        outs: tuple[list[Tensor], list[Tensor], list[Tensor]] = ([], [], [])
        for level, feat in enumerate(feats):
            cls_feat = self.multi_level_cls_convs[level](feat)
            reg_feat = self.multi_level_reg_convs[level](feat)
            outs[0].append(self.multi_level_conv_cls[level](cls_feat))
            outs[1].append(self.multi_level_conv_reg[level](reg_feat))
            outs[2].append(self.multi_level_conv_obj[level](reg_feat))
        return outs

    def get_priors(self, featmap_sizes: Sequence[tuple[int, int]],
                   device: torch.device) -> Tensor:
        """``(N, 4)`` ``[x, y, stride_w, stride_h]``: each cell's top-left point, the
        levels of :meth:`mlvl_priors` (cached) concatenated."""
        return torch.cat(self.mlvl_priors(featmap_sizes, device))

    @staticmethod
    def decode(priors: Tensor, bbox_preds: Tensor) -> Tensor:
        """Offsets ``(B, N, 4)`` from points ``(N, 4)`` -> boxes ``(B, N, 4)`` xyxy."""
        xys = bbox_preds[..., :2] * priors[:, 2:] + priors[:, :2]
        whs = bbox_preds[..., 2:].exp() * priors[:, 2:]
        return torch.cat([xys - whs / 2, xys + whs / 2], -1)

    def _flatten(self, outs: Sequence[Sequence[Tensor]]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Per-level outputs -> ``priors (N, 4)``, ``cls (B, N, C)``, ``bbox (B, N, 4)``,
        ``obj (B, N)`` (float32)."""
        cls_scores, bbox_preds, objectnesses = outs
        priors = self.get_priors([s.shape[-2:] for s in cls_scores], cls_scores[0].device)
        return (priors, levels_to_batch(cls_scores, self.num_classes).float(),
                levels_to_batch(bbox_preds, 4).float(),
                levels_to_batch(objectnesses, 1).float()[..., 0])

    # ----------------------------------------------------------------------------- training
    def loss(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
             objectnesses: Sequence[Tensor], gt_bboxes: Sequence[Tensor],
             gt_labels: Sequence[Tensor], img_metas: Sequence[dict],
             gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """``loss_cls``, ``loss_bbox``, ``loss_obj`` (and ``loss_l1`` with :attr:`use_l1`)
        of a batch; ignored boxes are not used (as mmdetection)."""
        priors, cls, bbox_pred, obj = self._flatten((cls_scores, bbox_preds, objectnesses))
        decoded = self.decode(priors, bbox_pred)  # (B, N, 4)
        gts, gt_valid = pad_instances([b.float() for b in gt_bboxes])
        labels, _ = pad_instances([lab.long() for lab in gt_labels], pad_value=-1)
        # assignment on cell centres; the boxes regress from the top-left points
        centres = torch.cat([priors[:, :2] + priors[:, 2:] * 0.5, priors[:, 2:]], -1)
        with torch.no_grad():
            assigned = self.assigner.assign_batched(
                cls.sigmoid() * obj.sigmoid()[..., None], centres, decoded.detach(), gts,
                labels, gt_valid)
        pos = assigned.gt_inds > 0  # (B, N)
        num_total = reduce_mean(pos.sum().float()).clamp(min=1.0)
        pos_gt = (assigned.gt_inds - 1).clamp(min=0)
        bbox_targets = gts.gather(1, pos_gt[..., None].expand(-1, -1, 4))[pos]  # (P, 4)
        cls_targets = (F.one_hot(assigned.labels[pos], self.num_classes)
                       * assigned.max_overlaps[pos, None])
        losses = {
            'loss_cls': self.loss_cls(cls[pos], cls_targets) / num_total,
            'loss_bbox': self.loss_bbox(decoded[pos], bbox_targets) / num_total,
            'loss_obj': self.loss_obj(obj.reshape(-1, 1), pos.reshape(-1, 1).float())
            / num_total,
        }
        if self.use_l1:
            pos_priors = priors[None].expand(pos.size(0), -1, -1)[pos]
            cxcywh = bbox_xyxy_to_cxcywh(bbox_targets)
            l1_targets = torch.cat([(cxcywh[:, :2] - pos_priors[:, :2]) / pos_priors[:, 2:],
                                    torch.log(cxcywh[:, 2:] / pos_priors[:, 2:] + 1e-8)], -1)
            losses['loss_l1'] = self.loss_l1(bbox_pred[pos], l1_targets) / num_total
        return losses

    # ----------------------------------------------------------------------------- testing
    def mlvl_topk_decode(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                         objectnesses: Sequence[Tensor], img_metas: Sequence[dict],
                         nms_pre: int = -1) -> tuple[Tensor, Tensor, Tensor]:
        """Every point decoded, in pure tensor operations (``nms_pre`` unused: YOLOX keeps
        all). Returns ``bboxes (B, N, 4)``, ``scores (B, N, C + 1)`` (only the highest
        class of a point holds its score, class x objectness; background last, zero) and
        ``level_ids (N,)``."""
        priors, cls, bbox_pred, obj = self._flatten((cls_scores, bbox_preds, objectnesses))
        probs = cls.sigmoid()
        best, label = probs.max(-1, keepdim=True)
        scores = torch.zeros_like(probs).scatter(-1, label, best * obj.sigmoid()[..., None])
        level_ids = torch.cat([torch.full((int(s.shape[-2] * s.shape[-1]),), i, dtype=torch.long,
                                          device=priors.device)
                               for i, s in enumerate(cls_scores)])
        return self.decode(priors, bbox_pred), F.pad(scores, (0, 1)), level_ids

    def get_bboxes(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                   objectnesses: Sequence[Tensor], img_metas: Sequence[dict],
                   cfg: dict | None = None, rescale: bool = True) -> list[tuple[Tensor, Tensor]]:
        """Detections of each image ``(det_bboxes (n, 5), det_labels (n,))``:
        :meth:`mlvl_topk_decode`, then :func:`dense_detections` (rescale, per-class NMS)."""
        return self.detections((cls_scores, bbox_preds, objectnesses), img_metas, cfg, rescale)
