"""mmdetection 2.x's ``BBoxHead``: classify and regress pooled RoI features.

Shapes: ``K`` RoIs of a batch (``(K, 5)`` rows ``[batch_index, x1, y1, x2, y2]``), ``C``
foreground classes; ``cls_score (K, C + 1)`` with the background as the last class,
``bbox_pred (K, 4)`` (``reg_class_agnostic``) or ``(K, 4 * C)``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

from mmssd.registry import MODELS, TASK_UTILS

from ...task_modules import SamplingResult
from ...task_modules.delta_xywh_bbox_coder import clip_bboxes
from ...utils import img_shapes_tensor, multiclass_nms, scale_factors_tensor
from ...utils.cfg_keys import build_checked


def accuracy(pred: Tensor, target: Tensor) -> Tensor:
    """Top-1 accuracy in percent of logits ``pred (K, C + 1)`` against ``target (K,)``
    (mmdetection's ``accuracy``: every sample counts, background included; 0 when empty)."""
    if pred.size(0) == 0:
        return pred.new_zeros(())
    correct = pred.detach().argmax(dim=1) == target
    return correct.float().sum() * (100.0 / pred.size(0))


@MODELS.register_module()
class BBoxHead(BaseModule):
    """Simplest RoI head: ``fc_cls`` and ``fc_reg`` on the flattened (or averaged) feature.

    Training targets (:meth:`get_targets`) and loss (:meth:`loss`) follow mmdetection 2.x:
    a sampled positive gets its ground truth's label, weight ``pos_weight`` (1 when
    ``<= 0``) and the encoded deltas of its ground truth (the box itself with
    ``reg_decoded_bbox``); a negative gets the background label ``C`` and weight 1.
    ``loss_cls`` is averaged over ``max(#(label_weights > 0), 1)``, ``acc`` is the top-1
    accuracy in percent over every RoI, and ``loss_bbox`` covers the positives only, with
    the slice of their own class (unless ``reg_class_agnostic``), averaged over the number
    of sampled RoIs ``K``.

    Args:
        with_avg_pool: average-pool the RoI feature instead of flattening it.
        with_cls: build ``fc_cls`` (``C + 1`` outputs).
        with_reg: build ``fc_reg`` (``4`` or ``4 * C`` outputs).
        roi_feat_size: size ``h`` (or ``(h, w)``) of the pooled features.
        in_channels: channels of the pooled features.
        num_classes: foreground classes ``C``.
        bbox_coder: box coder config (default ``DeltaXYWHBBoxCoder`` with stds
            ``[0.1, 0.1, 0.2, 0.2]``).
        reg_class_agnostic: one box per RoI instead of one per class.
        reg_decoded_bbox: regress decoded boxes (for IoU losses) instead of deltas.
        reg_predictor_cfg, cls_predictor_cfg: ``dict(type='Linear')`` (the only type).
        loss_cls: default ``CrossEntropyLoss`` (softmax).
        loss_bbox: default ``SmoothL1Loss(beta=1.0)``.
        init_cfg: default normal ``fc_cls`` (std 0.01) and ``fc_reg`` (std 0.001).
    """

    def __init__(self, with_avg_pool: bool = False, with_cls: bool = True,
                 with_reg: bool = True, roi_feat_size: int | Sequence[int] = 7,
                 in_channels: int = 256, num_classes: int = 80,
                 bbox_coder: dict | None = None, reg_class_agnostic: bool = False,
                 reg_decoded_bbox: bool = False, reg_predictor_cfg: dict | None = None,
                 cls_predictor_cfg: dict | None = None, loss_cls: dict | None = None,
                 loss_bbox: dict | None = None, init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        if not (with_cls or with_reg):
            raise ValueError('BBoxHead needs with_cls or with_reg (both are False)')
        for name, cfg in (('reg_predictor_cfg', reg_predictor_cfg),
                          ('cls_predictor_cfg', cls_predictor_cfg)):
            if cfg is not None and cfg.get('type', 'Linear') != 'Linear':
                raise ValueError(f"{name} type must be 'Linear', got {cfg.get('type')!r}")
        self.with_avg_pool = with_avg_pool
        self.with_cls = with_cls
        self.with_reg = with_reg
        self.roi_feat_size = _pair(roi_feat_size)
        self.roi_feat_area = self.roi_feat_size[0] * self.roi_feat_size[1]
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.reg_class_agnostic = reg_class_agnostic
        self.reg_decoded_bbox = reg_decoded_bbox
        self.bbox_coder = build_checked(TASK_UTILS, bbox_coder or {
            'type': 'DeltaXYWHBBoxCoder', 'clip_border': True,
            'target_means': [0., 0., 0., 0.], 'target_stds': [0.1, 0.1, 0.2, 0.2]}, 'bbox_coder')
        self.loss_cls = MODELS.build(loss_cls or {
            'type': 'CrossEntropyLoss', 'use_sigmoid': False, 'loss_weight': 1.0})
        if getattr(self.loss_cls, 'use_sigmoid', False):
            raise ValueError('BBoxHead needs a softmax classification loss (background is a '
                             'class); loss_cls has use_sigmoid=True')
        self.loss_bbox = MODELS.build(loss_bbox or {
            'type': 'SmoothL1Loss', 'beta': 1.0, 'loss_weight': 1.0})
        self._init_layers()
        if init_cfg is None:
            self.init_cfg = self._default_init_cfg()

    def _init_layers(self) -> None:
        """``fc_cls`` / ``fc_reg`` on the flattened (or pooled) RoI feature."""
        in_features = self.in_channels * (1 if self.with_avg_pool else self.roi_feat_area)
        self._init_predictors(in_features, in_features)

    def _init_predictors(self, cls_in: int, reg_in: int) -> None:
        if self.with_cls:
            self.fc_cls = nn.Linear(cls_in, self.num_classes + 1)
        if self.with_reg:
            self.fc_reg = nn.Linear(reg_in, 4 if self.reg_class_agnostic else 4 * self.num_classes)

    def _default_init_cfg(self) -> list[dict]:
        init_cfg = []
        if self.with_cls:
            init_cfg.append({'type': 'Normal', 'std': 0.01, 'override': {'name': 'fc_cls'}})
        if self.with_reg:
            init_cfg.append({'type': 'Normal', 'std': 0.001, 'override': {'name': 'fc_reg'}})
        return init_cfg

    def forward(self, x: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """RoI features ``(K, in_channels, h, w)`` -> ``(cls_score (K, C + 1),
        bbox_pred (K, 4 or 4C))`` (None for a missing branch). ``with_avg_pool`` takes
        the mean over the ``h x w`` RoI (mmdetection's ``AvgPool2d(roi_feat_size)``)."""
        x = x.mean(dim=(-1, -2)) if self.with_avg_pool else x.flatten(1)
        cls_score = self.fc_cls(x) if self.with_cls else None
        bbox_pred = self.fc_reg(x) if self.with_reg else None
        return cls_score, bbox_pred

    # ----------------------------------------------------------------------------- training
    def get_targets(self, sampling_results: Sequence[SamplingResult],
                    gt_bboxes: Sequence[Tensor], gt_labels: Sequence[Tensor],
                    rcnn_train_cfg: dict, concat: bool = True
                    ) -> tuple[Tensor, Tensor, Tensor, Tensor] | tuple[list[Tensor], ...]:
        """Targets of the sampled RoIs of all images at once.

        The RoIs are ordered as :func:`bbox2roi` of ``[cat(pos_bboxes, neg_bboxes)]`` per
        image (mmdetection's order). ``gt_bboxes`` is unused (mmdetection's signature); the
        positives' labels are ``gt_labels[i][pos_assigned_gt_inds]``.

        Returns:
            ``labels (K,)`` long, ``label_weights (K,)``, ``bbox_targets (K, 4)``,
            ``bbox_weights (K, 4)``; per-image lists of those with ``concat=False``.
        """
        pos_bboxes = torch.cat([res.pos_bboxes for res in sampling_results])
        pos_gt_bboxes = torch.cat([res.pos_gt_bboxes.to(pos_bboxes) for res in sampling_results])
        pos_labels = torch.cat([labels.to(pos_bboxes.device)[res.pos_assigned_gt_inds].long()
                                for res, labels in zip(sampling_results, gt_labels, strict=True)])
        counts = torch.tensor([[len(res.pos_inds), len(res.neg_inds)]
                               for res in sampling_results], device=pos_bboxes.device)
        # (K,) True at the positives: each image's block starts with its positives
        is_pos = torch.repeat_interleave(
            torch.tensor([True, False], device=counts.device).repeat(len(counts)),
            counts.view(-1))
        num_samples = is_pos.numel()
        pos_weight = rcnn_train_cfg.get('pos_weight', -1)
        pos_weight = 1.0 if pos_weight <= 0 else float(pos_weight)
        labels = pos_labels.new_full((num_samples,), self.num_classes)
        labels[is_pos] = pos_labels
        label_weights = torch.where(is_pos, pos_bboxes.new_tensor(pos_weight),
                                    pos_bboxes.new_tensor(1.0))
        bbox_targets = pos_bboxes.new_zeros((num_samples, 4))
        if pos_bboxes.size(0) > 0:
            bbox_targets[is_pos] = (pos_gt_bboxes if self.reg_decoded_bbox else
                                    self.bbox_coder.encode(pos_bboxes, pos_gt_bboxes))
        bbox_weights = is_pos[:, None].to(bbox_targets).expand(-1, 4).contiguous()
        targets = (labels, label_weights, bbox_targets, bbox_weights)
        if concat:
            return targets
        per_image = counts.sum(dim=1).tolist()
        return tuple(list(t.split(per_image)) for t in targets)

    def loss(self, cls_score: Tensor | None, bbox_pred: Tensor | None, rois: Tensor,
             labels: Tensor, label_weights: Tensor, bbox_targets: Tensor, bbox_weights: Tensor,
             reduction_override: str | None = None) -> dict[str, Tensor]:
        """``dict(loss_cls, acc, loss_bbox)`` of the whole batch's ``K`` sampled RoIs.

        Args:
            cls_score: ``(K, C + 1)`` logits.
            bbox_pred: ``(K, 4)`` or ``(K, 4 * C)`` deltas.
            rois: ``(K, 5)`` (used to decode with ``reg_decoded_bbox``).
            labels, label_weights, bbox_targets, bbox_weights: from :meth:`get_targets`.
        """
        losses: dict[str, Tensor] = {}
        if cls_score is not None:
            cls_score = cls_score.float()
            if cls_score.numel() > 0:
                avg_factor = max(float((label_weights > 0).sum()), 1.0)
                losses['loss_cls'] = self.loss_cls(cls_score, labels, label_weights,
                                                   avg_factor=avg_factor,
                                                   reduction_override=reduction_override)
            else:  # no RoI in the batch: a zero that keeps the graph
                losses['loss_cls'] = cls_score.sum() * 0
            losses['acc'] = accuracy(cls_score, labels)
        if bbox_pred is not None:
            bbox_pred = bbox_pred.float()
            pos = (labels >= 0) & (labels < self.num_classes)
            if pos.any():
                pred = bbox_pred.view(bbox_pred.size(0), bbox_pred.size(1) // 4, 4)
                if self.reg_decoded_bbox:
                    pred = self.bbox_coder.decode(rois[:, None, 1:].float(), pred)
                pos_labels = labels[pos] if not self.reg_class_agnostic else torch.zeros_like(
                    labels[pos])
                pos_bbox_pred = pred[pos, pos_labels]
                losses['loss_bbox'] = self.loss_bbox(
                    pos_bbox_pred, bbox_targets[pos], bbox_weights[pos],
                    avg_factor=bbox_targets.size(0), reduction_override=reduction_override)
            else:
                losses['loss_bbox'] = bbox_pred[pos].sum()
        return losses

    # ----------------------------------------------------------------------------- testing
    def decode_rois(self, rois: Tensor, cls_score: Tensor | None, bbox_pred: Tensor | None,
                    img_shapes: Tensor | None, scale_factors: Tensor | None = None
                    ) -> tuple[Tensor, Tensor | None]:
        """Boxes and class probabilities of RoIs of any number of images at once.

        Args:
            rois: ``(K, 5)``.
            cls_score: ``(K, C + 1)`` logits (None: no scores).
            bbox_pred: ``(K, 4)`` or ``(K, 4 * C)`` deltas (None: the RoIs themselves).
            img_shapes: ``(K, 2)`` ``(h, w)`` of each RoI's image to clip to, or None.
            scale_factors: ``(K, 4)`` divide the boxes by these (rescale), or None.

        Returns:
            ``bboxes (K, 4)`` or ``(K, 4 * C)`` and softmax ``scores (K, C + 1)``.
        """
        scores = F.softmax(cls_score.float(), dim=-1) if cls_score is not None else None
        boxes = rois[:, None, 1:].float()
        if bbox_pred is not None:
            deltas = bbox_pred.float().view(bbox_pred.size(0), bbox_pred.size(1) // 4, 4)
            bboxes = self.bbox_coder.decode(boxes, deltas, max_shape=img_shapes)
        else:
            bboxes = boxes if img_shapes is None else clip_bboxes(boxes, img_shapes)
        if scale_factors is not None:
            bboxes = bboxes / scale_factors[:, None, :].to(bboxes)
        return bboxes.reshape(rois.size(0), bboxes.size(1) * 4), scores

    def get_bboxes(self, rois: Tensor, cls_score: Tensor, bbox_pred: Tensor | None,
                   img_shape: Sequence[int] | None, scale_factor: Sequence[float] | float,
                   rescale: bool = False, cfg: dict | None = None) -> tuple[Tensor, Tensor]:
        """Detections of one image (mmdetection 2.x's ``get_bboxes``).

        Softmax scores; RoIs ``(n, 5)`` decoded with every class's deltas and clipped to
        ``img_shape``; with ``rescale`` divided by ``scale_factor``. With ``cfg``
        (``score_thr``, ``nms``, ``max_per_img``): :func:`multiclass_nms`, returning
        ``(det_bboxes (k, 5), det_labels (k,))``; without: ``(bboxes (n, 4 or 4C),
        scores (n, C + 1))``.
        """
        img_shapes = None
        if img_shape is not None:
            img_shapes = rois.new_tensor([float(img_shape[0]), float(img_shape[1])]).expand(
                rois.size(0), 2)
        factors = None
        if rescale:
            factors = scale_factors_tensor([{'scale_factor': scale_factor}], rois)[0].expand(
                rois.size(0), 4)
        bboxes, scores = self.decode_rois(rois, cls_score, bbox_pred, img_shapes, factors)
        if cfg is None:
            return bboxes, scores
        return multiclass_nms(bboxes, scores, cfg['score_thr'], cfg['nms'],
                              cfg.get('max_per_img', -1))

    def get_bboxes_batched(self, rois: Tensor, cls_score: Tensor, bbox_pred: Tensor | None,
                           img_metas: Sequence[dict], rescale: bool = False,
                           cfg: dict | None = None) -> list[tuple[Tensor, Tensor]]:
        """:meth:`get_bboxes` of every image of ``rois (K, 5)``: decoding, clipping and
        rescaling run on all RoIs at once, NMS per image. Returns one pair per image."""
        img_inds = rois[:, 0].long()
        img_shapes = rois.new_tensor([[float(m['img_shape'][0]), float(m['img_shape'][1])]
                                      for m in img_metas])[img_inds]
        factors = scale_factors_tensor(img_metas, rois)[img_inds, 0] if rescale else None
        bboxes, scores = self.decode_rois(rois, cls_score, bbox_pred, img_shapes, factors)
        counts = torch.bincount(img_inds, minlength=len(img_metas)).tolist()
        results = []
        for img_bboxes, img_scores in zip(bboxes.split(counts), scores.split(counts),
                                          strict=True):
            if cfg is None:
                results.append((img_bboxes, img_scores))
            else:
                results.append(multiclass_nms(img_bboxes, img_scores, cfg['score_thr'],
                                              cfg['nms'], cfg.get('max_per_img', -1)))
        return results

    # ----------------------------------------------------------------------------- cascades
    def regress_by_class(self, rois: Tensor, labels: Tensor, bbox_pred: Tensor,
                         img_metas: dict | Sequence[dict]) -> Tensor:
        """Apply each RoI's regression for class ``labels`` (mmdetection 2.x's
        ``regress_by_class``, for the RoIs of any number of images at once).

        Args:
            rois: ``(K, 5)`` ``[batch_index, x1, y1, x2, y2]``, or ``(K, 4)`` boxes of the
                single image ``img_metas``.
            labels: ``(K,)`` class of each RoI in ``[0, C)`` (unused with
                ``reg_class_agnostic``).
            bbox_pred: ``(K, 4)`` or ``(K, 4 * C)`` deltas.
            img_metas: per image meta dicts (indexed by the RoIs' batch index), or one
                image's dict; the decoded boxes are clipped to their ``img_shape``.

        Returns:
            The refined RoIs, same shape as ``rois`` (batch index kept).
        """
        if rois.dim() != 2 or rois.size(1) not in (4, 5):
            raise ValueError(f'rois must be (K, 4) or (K, 5), got {tuple(rois.shape)}')
        if isinstance(img_metas, dict):
            if rois.size(1) == 5 and rois.size(0) and bool((rois[:, 0] != rois[0, 0]).any()):
                raise ValueError('rois of several images need one img_meta per image')
            shapes = rois.new_tensor([[float(s) for s in img_metas['img_shape'][:2]]])
            img_inds = rois.new_zeros(rois.size(0), dtype=torch.long)
        else:
            shapes = img_shapes_tensor(img_metas, rois)
            img_inds = (rois[:, 0].long() if rois.size(1) == 5
                        else rois.new_zeros(rois.size(0), dtype=torch.long))
        deltas = bbox_pred.view(bbox_pred.size(0), -1, 4)
        if not self.reg_class_agnostic:
            deltas = deltas[torch.arange(deltas.size(0), device=deltas.device), labels][:, None]
        if deltas.size(1) != 1:
            raise ValueError(f'bbox_pred {tuple(bbox_pred.shape)} does not hold one box per '
                             f'RoI (reg_class_agnostic={self.reg_class_agnostic})')
        boxes = self.bbox_coder.decode(rois[:, None, -4:], deltas, max_shape=shapes[img_inds])
        if rois.size(1) == 4:
            return boxes[:, 0]
        return torch.cat([rois[:, :1], boxes[:, 0]], dim=1)

    def refine_bboxes(self, rois: Tensor, labels: Tensor, bbox_preds: Tensor,
                      pos_is_gts: Sequence[Tensor], img_metas: Sequence[dict]) -> list[Tensor]:
        """Next-stage proposals of a cascade: each sampled RoI regressed by its class
        (:meth:`regress_by_class`), without the ground truths that the sampler added as
        proposals (mmdetection 2.x's ``refine_bboxes``).

        Args:
            rois: ``(K, 5)`` sampled RoIs, per image its positives first (the sampler's
                order).
            labels: ``(K,)`` class per RoI (targets; the predicted class for negatives).
            bbox_preds: ``(K, 4)`` or ``(K, 4 * C)`` deltas.
            pos_is_gts: per image ``(P_i,)`` 1 where positive ``j`` is an added ground truth.
            img_metas: per image meta dicts.

        Returns:
            Per image ``(n_i, 4)`` refined boxes.
        """
        counts = torch.bincount(rois[:, 0].long(), minlength=len(img_metas)).tolist()
        if len(counts) != len(img_metas):
            raise ValueError(f'rois index {len(counts)} images but {len(img_metas)} '
                             'img_metas were given')
        refined = self.regress_by_class(rois, labels, bbox_preds, img_metas)[:, 1:]
        is_gt = torch.cat([torch.cat([gts.bool().to(rois.device),
                                      gts.new_zeros(n - len(gts), dtype=torch.bool,
                                                    device=rois.device)])
                           for gts, n in zip(pos_is_gts, counts, strict=True)])
        keep_counts = [n - int(gts.sum()) for gts, n in zip(pos_is_gts, counts, strict=True)]
        return list(refined[~is_gt].split(keep_counts))
