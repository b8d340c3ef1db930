"""mmdetection 2.x's ``AnchorHead``: the anchor machinery shared by SSD, RetinaNet and RPN.

It owns the prior generator (anchors cached per feature-map sizes), target assignment of
the whole batch at once (``MaxIoUAssigner.assign_batched``, the sampler's
``sample_batched``, no per-image Python loop), box coding, the classification and
regression losses; post-processing (per-level top-k, decoding, NMS) is
:class:`BaseDenseHead`'s. Its subclasses add their layers, and where they differ their loss,
score factors and decoding.

Shapes: ``B`` images, ``L`` levels, ``A_l`` anchors per location of level ``l``, ``C``
foreground classes, ``K = cls_out_channels`` (``C`` sigmoid outputs, or ``C + 1`` softmax
outputs with background last), ``N = sum_l H_l * W_l * A_l`` anchors per image, ordered
``(level, H, W, A)`` as the anchor generator's and :func:`levels_to_batch`'s.

Differences from mmdetection 2.x: with ``allowed_border=-1`` every anchor takes part in
assignment (mmdetection still drops the anchors of feature-map cells outside an image's
``pad_shape``, which changes nothing for batches of one image size); the losses are one
scalar per term (mmdetection returns per-level terms with the same sum); the averaging
factors are means over the processes of a distributed run; anchors, losses and decoding
run in float32.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmssd.registry import MODELS, TASK_UTILS

from ..utils import pad_instances, reduce_mean
from ..utils.cfg_keys import build_checked, require_cfg_key
from ..utils.mlvl_outputs import levels_to_batch
from .anchor_targets import AnchorTargets
from .base_dense_head import BaseDenseHead

# classification losses with which mmdetection uses no sampler (``self.sampling = False``)
NON_SAMPLING_LOSSES = ('FocalLoss', 'GHMC', 'QualityFocalLoss')


@MODELS.register_module()
class AnchorHead(BaseDenseHead):
    """Anchor-based dense head (mmdetection 2.x semantics, arguments and module names).

    On every level a 1x1 ``conv_cls`` maps the feature ``(B, in_channels, H, W)`` to
    ``(B, A * K, H, W)`` and a 1x1 ``conv_reg`` to ``(B, A * 4, H, W)``; subclasses replace
    the layers through :meth:`_init_layers` and :meth:`forward_single`.

    Args:
        num_classes: foreground classes ``C``.
        in_channels: channels of the input levels.
        feat_channels: channels of hidden convs (subclasses).
        anchor_generator: prior generator config (``TASK_UTILS``); default mmdetection's
            (scales 8/16/32, ratios 0.5/1/2, strides 4..64).
        bbox_coder: box coder config; default ``DeltaXYWHBBoxCoder`` (means 0, stds 1).
        reg_decoded_bbox: regress decoded boxes (IoU losses) instead of deltas.
        loss_cls: classification loss; default ``CrossEntropyLoss(use_sigmoid=True)``.
            ``use_sigmoid`` decides ``K``; a focal-type loss means no sampler
            (``PseudoSampler``) and averaging over positives only.
        loss_bbox: regression loss; default ``SmoothL1Loss(beta=1/9)``.
        train_cfg: ``assigner``, ``sampler`` (default ``PseudoSampler``),
            ``allowed_border`` (``-1``: every anchor; ``>= 0``: only the anchors of
            feature-map cells inside the image's ``pad_shape`` that lie inside its
            ``img_shape`` grown by that many pixels), ``pos_weight``, ``debug`` (unused).
        test_cfg: ``nms_pre``, ``nms``, ``score_thr``, ``max_per_img``, ``min_bbox_size``.
        init_cfg: mmengine init config (default normal(std=0.01) convs).

    Unknown keys in ``train_cfg`` (:attr:`TRAIN_CFG_KEYS`), ``test_cfg``
    (:attr:`TEST_CFG_KEYS`), ``test_cfg.nms`` and the task-module configs raise
    :class:`~mmssd.models.utils.cfg_keys.ConfigKeyError` with the closest known key.
    """

    #: Keys of ``train_cfg`` this head reads (``debug`` is accepted and ignored).
    TRAIN_CFG_KEYS: tuple[str, ...] = ('assigner', 'sampler', 'allowed_border', 'pos_weight')

    def __init__(self, num_classes: int, in_channels: int | Sequence[int],
                 feat_channels: int = 256, anchor_generator: dict | None = None,
                 bbox_coder: dict | None = None, reg_decoded_bbox: bool = False,
                 loss_cls: dict | None = None, loss_bbox: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None,
                 init_cfg: dict | list | None = None) -> None:
        if init_cfg is None:
            init_cfg = {'type': 'Normal', 'layer': 'Conv2d', 'std': 0.01}
        super().__init__(num_classes, in_channels, feat_channels, train_cfg, test_cfg, init_cfg)
        if anchor_generator is None:
            anchor_generator = {'type': 'AnchorGenerator', 'scales': [8, 16, 32],
                                'ratios': [0.5, 1.0, 2.0], 'strides': [4, 8, 16, 32, 64]}
        if bbox_coder is None:
            bbox_coder = {'type': 'DeltaXYWHBBoxCoder', 'clip_border': True,
                          'target_means': [.0, .0, .0, .0], 'target_stds': [1.0, 1.0, 1.0, 1.0]}
        self.prior_generator = build_checked(TASK_UTILS, anchor_generator, 'anchor_generator')
        self.num_base_priors = self.prior_generator.num_base_priors
        self.reg_decoded_bbox = reg_decoded_bbox
        self._init_losses(loss_cls, loss_bbox)
        self._init_layers()
        self.bbox_coder = build_checked(TASK_UTILS, bbox_coder, 'bbox_coder')
        if train_cfg:
            self.assigner = build_checked(
                TASK_UTILS, require_cfg_key(train_cfg, 'assigner', 'train_cfg'),
                'train_cfg.assigner')
            sampler = train_cfg.get('sampler') if self.sampling else None
            self.sampler = build_checked(TASK_UTILS, sampler or {'type': 'PseudoSampler'},
                                         'train_cfg.sampler')

    # ----------------------------------------------------------------------------- layers
    def _init_losses(self, loss_cls: dict | None, loss_bbox: dict | None) -> None:
        """Set ``use_sigmoid_cls``, ``sampling``, ``cls_out_channels`` and build the losses
        (before :meth:`_init_layers`, which needs ``cls_out_channels``)."""
        loss_cls = loss_cls or {'type': 'CrossEntropyLoss', 'use_sigmoid': True,
                                'loss_weight': 1.0}
        loss_bbox = loss_bbox or {'type': 'SmoothL1Loss', 'beta': 1.0 / 9.0, 'loss_weight': 1.0}
        self.use_sigmoid_cls = bool(loss_cls.get('use_sigmoid', False))
        self.sampling = loss_cls['type'] not in NON_SAMPLING_LOSSES
        self.cls_out_channels = self.num_classes + (0 if self.use_sigmoid_cls else 1)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)

    def _init_layers(self) -> None:
        num_priors = self._same_priors_per_level()
        self.conv_cls = nn.Conv2d(self.in_channels, num_priors * self.cls_out_channels, 1)
        self.conv_reg = nn.Conv2d(self.in_channels, num_priors * 4, 1)

    def _same_priors_per_level(self) -> int:
        """The anchors per location of every level (layers shared by all levels)."""
        if len(set(self.num_base_priors)) != 1:
            raise ValueError(f'{type(self).__name__} shares its layers across levels, so every '
                             'level needs the same anchors per location; got '
                             f'{self.num_base_priors}')
        return self.num_base_priors[0]

    def forward_single(self, feat: Tensor) -> tuple[Tensor, Tensor]:
        """One level ``(B, in_channels, H, W)`` -> ``(B, A * K, H, W)``, ``(B, A * 4, H, W)``."""
        return self.conv_cls(feat), self.conv_reg(feat)

    def forward(self, feats: Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """Features ``[(B, in_channels, H_l, W_l)]`` -> ``(cls_scores, bbox_preds)``:
        ``[(B, A * K, H_l, W_l)]`` and ``[(B, A * 4, H_l, W_l)]``."""
        outs = [self.forward_single(feat) for feat in feats]
        return [cls for cls, _ in outs], [reg for _, reg in outs]

    # ----------------------------------------------------------------------------- anchors
    #: Per level anchors ``(H_l * W_l * A_l, 4)``, shared by all images (cached).
    get_anchors = BaseDenseHead.mlvl_priors

    def prior_valid_mask(self, featmap_sizes: Sequence[tuple[int, int]],
                         img_metas: Sequence[dict], anchors: Tensor) -> Tensor | None:
        """``(B, N)`` bool: the anchors each image may assign (mmdetection's
        ``anchor_inside_flags``), or None when ``train_cfg.allowed_border`` is ``-1``.

        With ``allowed_border = b >= 0`` an anchor is valid for an image when its
        feature-map cell lies inside the image's ``pad_shape`` (the generator's
        ``valid_flags``) and the anchor lies inside ``[-b, w + b) x [-b, h + b)`` of the
        image's own ``img_shape (h, w)``, not the padded batch.
        """
        border = self.train_cfg.get('allowed_border', -1) if self.train_cfg else -1
        if border < 0:
            return None
        for meta in img_metas:
            for key in ('pad_shape', 'img_shape'):
                if key not in meta:
                    raise KeyError(f'allowed_border={border} needs {key!r} in every img_meta; '
                                   f'got the keys {sorted(meta)}')
        flags = self.prior_generator.batch_valid_flags(
            featmap_sizes, [meta['pad_shape'] for meta in img_metas], anchors.device)
        img_hw = anchors.new_tensor([meta['img_shape'][:2] for meta in img_metas])  # (B, 2)
        inside = ((anchors[None, :, 0] >= -border) & (anchors[None, :, 1] >= -border)
                  & (anchors[None, :, 2] < img_hw[:, 1:] + border)
                  & (anchors[None, :, 3] < img_hw[:, :1] + border))
        return torch.cat(flags, dim=1) & inside

    # ----------------------------------------------------------------------------- training
    def get_targets(self, anchors: Tensor, gt_bboxes: Sequence[Tensor],
                    gt_labels: Sequence[Tensor] | None,
                    gt_bboxes_ignore: Sequence[Tensor] | None = None,
                    prior_valid: Tensor | None = None,
                    num_level_anchors: Sequence[int] | None = None) -> AnchorTargets:
        """Targets of all images at once.

        Args:
            anchors: ``(N, 4)`` anchors shared by the images.
            gt_bboxes: per image ``(G_b, 4)`` boxes.
            gt_labels: per image ``(G_b,)`` labels in ``[0, C)``, or None (positives get
                label 0, as mmdetection's RPN).
            gt_bboxes_ignore: per image ``(M_b, 4)`` boxes to ignore, or None.
            prior_valid: ``(B, N)`` bool, the anchors each image may use
                (:meth:`prior_valid_mask`), or None for all.
            num_level_anchors: ``N_l`` per level (for ``ATSSAssigner``).
        """
        if not self.train_cfg:
            raise RuntimeError(f'{type(self).__name__} needs train_cfg to compute training '
                               'targets')
        device = anchors.device
        gts, gt_valid = pad_instances([b.to(device=device, dtype=anchors.dtype).reshape(-1, 4)
                                       for b in gt_bboxes])
        labels_padded = None
        if gt_labels is not None:
            labels_padded, _ = pad_instances([lb.to(device=device, dtype=torch.long)
                                              for lb in gt_labels], pad_value=-1)
        ignore, ignore_valid = None, None
        if gt_bboxes_ignore is not None and any(b.numel() for b in gt_bboxes_ignore):
            ignore, ignore_valid = pad_instances(
                [b.to(device=device, dtype=anchors.dtype).reshape(-1, 4)
                 for b in gt_bboxes_ignore])
        level_kw = ({'num_level_bboxes': num_level_anchors}
                    if getattr(self.assigner, 'needs_level_sizes', False) else {})
        assign = self.assigner.assign_batched(anchors, gts, gt_valid, labels_padded, ignore,
                                              ignore_valid, prior_valid=prior_valid, **level_kw)
        pos_mask, neg_mask = self.sampler.sample_batched(assign)
        background = torch.full_like(assign.gt_inds, self.num_classes)
        pos_labels = torch.zeros_like(background) if assign.labels is None else assign.labels
        labels = torch.where(pos_mask, pos_labels, background)
        pos_weight = self.train_cfg.get('pos_weight', -1)
        pos_weight = 1.0 if pos_weight <= 0 else float(pos_weight)
        label_weights = pos_mask.to(anchors.dtype) * pos_weight + neg_mask.to(anchors.dtype)
        batch_anchors = anchors[None].expand(len(gt_bboxes), -1, -1)
        if gts.size(1) == 0:
            matched = batch_anchors
        else:
            index = (assign.gt_inds - 1).clamp(min=0)[..., None].expand(-1, -1, 4)
            matched = torch.where(pos_mask[..., None], gts.gather(1, index), batch_anchors)
        bbox_targets = (matched if self.reg_decoded_bbox
                        else self.bbox_coder.encode(batch_anchors, matched))
        bbox_weights = pos_mask[..., None].to(anchors.dtype).expand(-1, -1, 4)
        bbox_targets = bbox_targets * bbox_weights
        # means over processes: DDP's averaged gradient is then the global batch's
        num_total_pos = reduce_mean(pos_mask.sum(dim=1).clamp(min=1).sum().float())
        num_total_neg = reduce_mean(neg_mask.sum(dim=1).clamp(min=1).sum().float())
        return AnchorTargets(labels, label_weights, bbox_targets, bbox_weights, num_total_pos,
                             num_total_neg)

    def loss(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
             gt_bboxes: Sequence[Tensor], gt_labels: Sequence[Tensor] | None,
             img_metas: Sequence[dict],
             gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """Loss of a batch (head outputs as from :meth:`forward`):
        ``dict(loss_cls=scalar, loss_bbox=scalar)`` (see :meth:`loss_from_targets`)."""
        if len(cls_scores) != self.prior_generator.num_levels:
            raise ValueError(f'{len(cls_scores)} levels of scores for '
                             f'{self.prior_generator.num_levels} anchor levels')
        batch_size = cls_scores[0].size(0)
        if not len(gt_bboxes) == len(img_metas) == batch_size or (
                gt_labels is not None and len(gt_labels) != batch_size):
            raise ValueError(f'a batch of {batch_size} images needs as many gt_bboxes, '
                             f'gt_labels and img_metas; got {len(gt_bboxes)}, '
                             f'{None if gt_labels is None else len(gt_labels)}, '
                             f'{len(img_metas)}')
        featmap_sizes = [score.shape[-2:] for score in cls_scores]
        mlvl_anchors = self.get_anchors(featmap_sizes, cls_scores[0].device)
        num_level_anchors = [len(level) for level in mlvl_anchors]
        anchors = torch.cat(mlvl_anchors)
        prior_valid = self.prior_valid_mask(featmap_sizes, img_metas, anchors)
        targets = self.get_targets(anchors, gt_bboxes, gt_labels, gt_bboxes_ignore, prior_valid,
                                   num_level_anchors)
        all_cls_scores = levels_to_batch(cls_scores, self.cls_out_channels).float()
        all_bbox_preds = levels_to_batch(bbox_preds, self.reg_out_channels).float()
        return self.loss_from_targets(all_cls_scores, all_bbox_preds, anchors, targets,
                                      num_level_anchors)

    def loss_from_targets(self, all_cls_scores: Tensor, all_bbox_preds: Tensor, anchors: Tensor,
                          targets: AnchorTargets,
                          num_level_anchors: Sequence[int] | None = None) -> dict[str, Tensor]:
        """``loss_cls`` of ``all_cls_scores (B, N, K)`` over the positive and negative
        anchors and ``loss_bbox`` of ``all_bbox_preds (B, N, reg_out_channels)`` over the
        positives, both divided by ``num_total_pos`` (plus ``num_total_neg`` when sampling,
        as mmdetection); ``num_level_anchors`` (``N_l``) serves subclasses."""
        avg_factor = targets.num_total_pos
        if self.sampling:
            avg_factor = avg_factor + targets.num_total_neg
        loss_cls = self.loss_cls(all_cls_scores.reshape(-1, self.cls_out_channels),
                                 targets.labels.reshape(-1),
                                 targets.label_weights.reshape(-1), avg_factor=avg_factor)
        bbox_preds = all_bbox_preds
        if self.reg_decoded_bbox:
            bbox_preds = self.bbox_coder.decode(anchors[None].expand_as(bbox_preds), bbox_preds)
        loss_bbox = self.loss_bbox(bbox_preds.reshape(-1, 4), targets.bbox_targets.reshape(-1, 4),
                                   targets.bbox_weights.reshape(-1, 4), avg_factor=avg_factor)
        return {'loss_cls': loss_cls, 'loss_bbox': loss_bbox}
