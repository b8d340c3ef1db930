"""SSD head: per-level conv predictors, batched target assignment, SSD loss, post-processing.

Shapes: ``B`` images, ``L`` levels, ``A_l`` anchors per location of level ``l``, ``C``
foreground classes (``C + 1`` softmax outputs, background is the last index ``C``),
``N = sum_l H_l * W_l * A_l`` anchors per image.

Differences from mmdetection 2.x, none of which changes results for SSD's fixed-size inputs:
every anchor takes part in assignment (``allowed_border=-1``; no per-image valid flags for
batch padding), and the loss is returned as one scalar per term (mmdetection returns a list
of per-image terms whose sum is the same value). Anchors, losses and decoding run in float32.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssd.registry import MODELS, TASK_UTILS

from ..losses import hard_negative_sum, smooth_l1_loss, weight_reduce_loss
from ..utils import bbox2result, multiclass_nms, pad_instances, reduce_mean


class SSDTargets(NamedTuple):
    """Training targets of a batch.

    Attributes:
        labels: ``(B, N)`` long; class of positives, ``C`` (background) elsewhere.
        label_weights: ``(B, N)``; 1 for positives (or ``pos_weight``) and negatives,
            0 for ignored anchors.
        bbox_targets: ``(B, N, 4)`` encoded deltas (boxes with ``reg_decoded_bbox``),
            zero at non-positives.
        bbox_weights: ``(B, N, 4)``; 1 at positives.
        num_total_pos: float scalar tensor, ``sum_b max(num_pos_b, 1)`` (mmdetection's
            average factor), averaged over the processes of a distributed run.
    """

    labels: Tensor
    label_weights: Tensor
    bbox_targets: Tensor
    bbox_weights: Tensor
    num_total_pos: Tensor


def levels_to_batch(maps: Sequence[Tensor], channels: int) -> Tensor:
    """Per-level head outputs ``[(B, A_l * channels, H_l, W_l)]`` -> ``(B, N, channels)``,
    anchor order ``(level, H, W, A)`` as the anchor generator's."""
    batch_size = maps[0].size(0)
    return torch.cat(
        [m.permute(0, 2, 3, 1).reshape(batch_size, -1, channels) for m in maps], dim=1)


def scale_factors_tensor(img_metas: Sequence[dict], like: Tensor) -> Tensor:
    """``(B, 1, 4)`` ``[w, h, w, h]`` scale factors of the metas (a scalar is repeated)."""
    factors = []
    for meta in img_metas:
        factor = np.asarray(meta['scale_factor'], dtype=np.float32).reshape(-1)
        factors.append(np.repeat(factor, 4) if factor.size == 1 else factor)
    return like.new_tensor(np.stack(factors))[:, None, :]


@MODELS.register_module()
class SSDHead(BaseModule):
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
            (unused by SSD, as in mmdetection).
        init_cfg: mmengine init config (default Xavier uniform for convs).
    """

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
        super().__init__(init_cfg)
        if anchor_generator is None:
            anchor_generator = {
                'type': 'SSDAnchorGenerator', 'scale_major': False, 'input_size': 300,
                'strides': [8, 16, 32, 64, 100, 300],
                'ratios': ([2], [2, 3], [2, 3], [2, 3], [2], [2]),
                'basesize_ratio_range': (0.1, 0.9)}
        if bbox_coder is None:
            bbox_coder = {'type': 'DeltaXYWHBBoxCoder', 'clip_border': True,
                          'target_means': [.0, .0, .0, .0], 'target_stds': [1.0, 1.0, 1.0, 1.0]}
        self.num_classes = num_classes
        self.in_channels = tuple(in_channels)
        self.stacked_convs = stacked_convs
        self.feat_channels = feat_channels
        self.use_depthwise = use_depthwise
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.cls_out_channels = num_classes + 1  # background is the last class
        self.prior_generator = TASK_UTILS.build(anchor_generator)
        self.num_base_priors = self.prior_generator.num_base_priors
        assert len(self.num_base_priors) == len(self.in_channels), (
            f'{len(self.in_channels)} input levels but the anchor generator has '
            f'{len(self.num_base_priors)}')
        self._init_layers()
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.reg_decoded_bbox = reg_decoded_bbox
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        if train_cfg:
            if train_cfg.get('allowed_border', -1) >= 0:
                raise ValueError('SSDHead supports only allowed_border=-1 (every anchor '
                                 'takes part in assignment)')
            self.assigner = TASK_UTILS.build(train_cfg['assigner'])
            self.sampler = TASK_UTILS.build(train_cfg.get('sampler') or
                                            {'type': 'PseudoSampler'})
        self._anchor_cache: tuple[tuple, list[Tensor]] | None = None

    # ----------------------------------------------------------------------------- layers
    def _init_layers(self) -> None:
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

    # ----------------------------------------------------------------------------- anchors
    def get_anchors(self, featmap_sizes: Sequence[tuple[int, int]],
                    device: torch.device | str = 'cpu',
                    dtype: torch.dtype = torch.float32) -> list[Tensor]:
        """Per level anchors ``(H_l * W_l * A_l, 4)``, shared by all images (cached)."""
        key = (tuple(tuple(int(s) for s in size) for size in featmap_sizes), str(device), dtype)
        if self._anchor_cache is None or self._anchor_cache[0] != key:
            anchors = self.prior_generator.grid_priors(key[0], dtype=dtype, device=device)
            self._anchor_cache = (key, anchors)
        return self._anchor_cache[1]

    # ----------------------------------------------------------------------------- training
    def get_targets(self, anchors: Tensor, gt_bboxes: Sequence[Tensor],
                    gt_labels: Sequence[Tensor],
                    gt_bboxes_ignore: Sequence[Tensor] | None = None) -> SSDTargets:
        """Targets of all images at once.

        Args:
            anchors: ``(N, 4)`` anchors shared by the images.
            gt_bboxes: per image ``(G_b, 4)`` boxes.
            gt_labels: per image ``(G_b,)`` labels in ``[0, C)``.
            gt_bboxes_ignore: per image ``(M_b, 4)`` boxes to ignore, or None.
        """
        if not self.train_cfg:
            raise RuntimeError('SSDHead needs train_cfg to compute training targets')
        device = anchors.device
        gts, gt_valid = pad_instances([b.to(device=device, dtype=anchors.dtype)
                                       for b in gt_bboxes])
        labels_padded, _ = pad_instances([lb.to(device=device, dtype=torch.long)
                                          for lb in gt_labels], pad_value=-1)
        ignore, ignore_valid = None, None
        if gt_bboxes_ignore is not None and any(b.numel() for b in gt_bboxes_ignore):
            ignore, ignore_valid = pad_instances(
                [b.to(device=device, dtype=anchors.dtype).reshape(-1, 4)
                 for b in gt_bboxes_ignore])
        assign = self.assigner.assign_batched(anchors, gts, gt_valid, labels_padded, ignore,
                                              ignore_valid)
        pos_mask, neg_mask = self.sampler.sample_batched(assign)
        labels = torch.where(pos_mask, assign.labels, torch.full_like(assign.labels,
                                                                      self.num_classes))
        pos_weight = self.train_cfg.get('pos_weight', -1)
        pos_weight = 1.0 if pos_weight <= 0 else float(pos_weight)
        label_weights = pos_mask.to(anchors.dtype) * pos_weight + neg_mask.to(anchors.dtype)

        batch_anchors = anchors[None].expand(len(gt_bboxes), -1, -1)
        if gts.size(1) == 0:
            matched = batch_anchors
        else:
            index = (assign.gt_inds - 1).clamp(min=0)[..., None].expand(-1, -1, 4)
            matched = torch.where(pos_mask[..., None], gts.gather(1, index), batch_anchors)
        if self.reg_decoded_bbox:
            bbox_targets = matched
        else:
            bbox_targets = self.bbox_coder.encode(batch_anchors, matched)
        bbox_weights = pos_mask[..., None].to(anchors.dtype).expand(-1, -1, 4)
        bbox_targets = bbox_targets * bbox_weights
        # the mean over processes: DDP's averaged gradient is then the global batch's
        num_total_pos = reduce_mean(pos_mask.sum(dim=1).clamp(min=1).sum().float())
        return SSDTargets(labels, label_weights, bbox_targets, bbox_weights, num_total_pos)

    def loss(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
             gt_bboxes: Sequence[Tensor], gt_labels: Sequence[Tensor],
             img_metas: Sequence[dict],
             gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """SSD loss of a batch (head outputs as from :meth:`forward`).

        Returns ``dict(loss_cls=scalar, loss_bbox=scalar)``: cross-entropy of all positives
        plus the ``neg_pos_ratio * num_pos`` hardest negatives of each image, and smooth L1
        of the positives' deltas, both divided by ``num_total_pos``.
        """
        assert len(cls_scores) == self.prior_generator.num_levels
        assert len(gt_bboxes) == len(gt_labels) == cls_scores[0].size(0) == len(img_metas)
        featmap_sizes = [score.shape[-2:] for score in cls_scores]
        anchors = torch.cat(self.get_anchors(featmap_sizes, cls_scores[0].device))
        targets = self.get_targets(anchors, gt_bboxes, gt_labels, gt_bboxes_ignore)
        all_cls_scores = levels_to_batch(cls_scores, self.cls_out_channels).float()
        all_bbox_preds = levels_to_batch(bbox_preds, 4).float()
        return self.loss_from_targets(all_cls_scores, all_bbox_preds, anchors, targets)

    def loss_from_targets(self, all_cls_scores: Tensor, all_bbox_preds: Tensor, anchors: Tensor,
                          targets: SSDTargets) -> dict[str, Tensor]:
        """The loss of ``all_cls_scores (B, N, C + 1)`` and ``all_bbox_preds (B, N, 4)``."""
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

    # ----------------------------------------------------------------------------- testing
    def get_bboxes(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                   img_metas: Sequence[dict], cfg: dict | None = None,
                   rescale: bool = True) -> list[tuple[Tensor, Tensor]]:
        """Detections of each image: ``(det_bboxes (n, 5), det_labels (n,))``.

        Scores from :meth:`cls_probabilities` (softmax); per level the ``nms_pre`` anchors of
        highest foreground score are decoded (clipped to ``img_shape``); with ``rescale``
        boxes are divided by ``scale_factor`` (back to original image pixels); then per-class
        NMS keeps at most ``max_per_img`` detections above ``score_thr`` whose sides are at
        least ``min_bbox_size``.
        """
        cfg = self.test_cfg if cfg is None else cfg
        if cfg is None:
            raise RuntimeError('SSDHead needs test_cfg to post-process detections')
        batch_size = cls_scores[0].size(0)
        featmap_sizes = [score.shape[-2:] for score in cls_scores]
        mlvl_anchors = self.get_anchors(featmap_sizes, cls_scores[0].device)
        img_shapes = mlvl_anchors[0].new_tensor([meta['img_shape'][:2] for meta in img_metas])
        nms_pre = cfg.get('nms_pre', -1)
        mlvl_bboxes, mlvl_scores = [], []
        for cls_score, bbox_pred, anchors in zip(cls_scores, bbox_preds, mlvl_anchors, strict=True):
            scores = self.cls_probabilities(
                levels_to_batch([cls_score], self.cls_out_channels).float())
            deltas = levels_to_batch([bbox_pred], 4).float()
            level_anchors = anchors[None].expand(batch_size, -1, -1)
            if 0 < nms_pre < scores.size(1):
                # amax and row indexing: the values of max(...).values and gather, cheaper
                topk_inds = scores[..., :-1].amax(dim=-1).topk(nms_pre, dim=1).indices
                batch_inds = torch.arange(batch_size, device=topk_inds.device)[:, None]
                scores = scores[batch_inds, topk_inds]
                deltas = deltas[batch_inds, topk_inds]
                level_anchors = anchors[topk_inds]
            mlvl_bboxes.append(self.bbox_coder.decode(level_anchors, deltas,
                                                      max_shape=img_shapes))
            mlvl_scores.append(scores)
        bboxes = torch.cat(mlvl_bboxes, dim=1)
        scores = torch.cat(mlvl_scores, dim=1)
        if rescale:
            bboxes = bboxes / scale_factors_tensor(img_metas, bboxes)
        return [
            multiclass_nms(bboxes[i], scores[i], cfg['score_thr'], cfg['nms'],
                           cfg.get('max_per_img', -1), cfg.get('min_bbox_size', 0))
            for i in range(batch_size)
        ]

    def cls_probabilities(self, cls_logits: Tensor) -> Tensor:
        """Logits ``(B, n, cls_out_channels)`` -> class probabilities ``(B, n, C + 1)``,
        background last (SSD: softmax over the ``C + 1`` outputs)."""
        return cls_logits.softmax(-1)

    def simple_test(self, feats: Sequence[Tensor], img_metas: Sequence[dict],
                    rescale: bool = True) -> list[tuple[Tensor, Tensor]]:
        """Forward and post-process: per image ``(det_bboxes (n, 5), det_labels (n,))``."""
        cls_scores, bbox_preds = self(feats)
        return self.get_bboxes(cls_scores, bbox_preds, img_metas, rescale=rescale)

    def results_to_numpy(self, results: Sequence[tuple[Tensor, Tensor]]) -> list[list[np.ndarray]]:
        """Per image, a list over classes of float32 ``(k, 5)`` arrays (:func:`bbox2result`)."""
        return [bbox2result(bboxes, labels, self.num_classes) for bboxes, labels in results]
