"""mmdetection 2.x's ``CascadeRoIHead`` (box branch): the RoI stages of Cascade R-CNN.

Shapes: ``B`` images, proposals ``(n_i, 5)`` ``[x1, y1, x2, y2, score]`` (or ``(n_i, 4)``)
per image, ``K`` RoIs of the batch as ``(K, 5)`` ``[batch_index, x1, y1, x2, y2]``
(:func:`bbox2roi`), ``C`` foreground classes, ``S`` stages.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmengine.model import ModuleList
from torch import Tensor, nn

from mmssd.registry import MODELS, TASK_UTILS

from ..utils.cfg_keys import build_checked, cfg_path, require_cfg_key
from .base_roi_head import (
    TRAIN_KEYS,
    BaseRoIHead,
    assign_and_sample,
    bbox_forward,
    bbox_forward_train,
    check_rcnn_cfg,
)


def _per_stage(value: dict | list | None, num_stages: int, name: str) -> list:
    """``value`` as a list of ``num_stages`` entries: a list must have that length, a single
    dict is shared by every stage (mmdetection's rule for extractors and heads)."""
    if isinstance(value, (list, tuple)):
        if len(value) != num_stages:
            raise ValueError(f'CascadeRoIHead: {name} has {len(value)} entries but '
                             f'num_stages={num_stages}')
        return list(value)
    return [value] * num_stages


@MODELS.register_module()
class CascadeRoIHead(BaseRoIHead):
    """Box branch of Cascade R-CNN (Cai & Vasconcelos 2018), mmdetection 2.x's arguments
    and module names (``bbox_roi_extractor.{s}``, ``bbox_head.{s}``), so its checkpoints
    load.

    Training (:meth:`forward_train`): stage ``s`` assigns and samples the current proposals
    with its own ``train_cfg[s]`` (IoU thresholds rising from stage to stage), computes its
    losses (named ``s{s}.loss_cls``, ``s{s}.loss_bbox``, ``s{s}.acc``, the losses multiplied
    by ``stage_loss_weights[s]``), then regresses its sampled RoIs by class (the target
    class; the predicted one for negatives) to make the next stage's proposals, without the
    ground truths the sampler added (:meth:`BBoxHead.refine_bboxes`; no gradient).
    Testing (:meth:`test_forward`, under :class:`BaseRoIHead`'s ``simple_test_bboxes``):
    every stage runs on the previous stage's
    regressed boxes; the final classification is the softmax of the mean of the stages'
    class logits (mmdetection averages ``cls_score`` before its softmax), the boxes are the
    last stage's regression of the last stage's input RoIs. All images' RoIs go through
    each stage at once.

    Args:
        num_stages: number of stages ``S``.
        stage_loss_weights: ``S`` loss multipliers, e.g. ``[1, 0.5, 0.25]``.
        bbox_roi_extractor: one config shared by every stage (built ``S`` times, no
            parameters) or a list of ``S``.
        bbox_head: one config (built ``S`` times) or a list of ``S``.
        (Both are held in mmengine ``ModuleList``s, so ``init_weights`` reaches every
        stage's ``init_cfg``.)
        mask_roi_extractor, mask_head, shared_head: not implemented (must be None).
        train_cfg: list of ``S`` R-CNN ``train_cfg`` dicts (``assigner``, ``sampler``,
            ``pos_weight``, ``debug``).
        test_cfg: one R-CNN ``test_cfg`` (``score_thr``, ``nms``, ``max_per_img``).
        pretrained: ignored, for mmdetection 2.x configs (see :class:`StandardRoIHead`).
        init_cfg: mmengine init config.
    """

    def __init__(self, num_stages: int, stage_loss_weights: Sequence[float],
                 bbox_roi_extractor: dict | list | None = None,
                 bbox_head: dict | list | None = None, mask_roi_extractor: dict | None = None,
                 mask_head: dict | None = None, shared_head: dict | None = None,
                 train_cfg: list | None = None, test_cfg: dict | None = None,
                 pretrained: str | None = None, init_cfg: dict | list | None = None) -> None:
        del pretrained  # see Args
        super().__init__(train_cfg, test_cfg, mask_roi_extractor, mask_head, shared_head,
                         init_cfg)
        if not isinstance(num_stages, int) or num_stages < 1:
            raise ValueError(f'CascadeRoIHead: num_stages must be a positive int, '
                             f'got {num_stages!r}')
        if bbox_roi_extractor is None or bbox_head is None:
            raise ValueError('CascadeRoIHead needs bbox_roi_extractor and bbox_head configs')
        if len(stage_loss_weights) != num_stages:
            raise ValueError(f'CascadeRoIHead: stage_loss_weights {list(stage_loss_weights)} '
                             f'has {len(stage_loss_weights)} entries but num_stages='
                             f'{num_stages}')
        self.num_stages = num_stages
        self.stage_loss_weights = [float(w) for w in stage_loss_weights]
        with cfg_path('bbox_roi_extractor'):
            self.bbox_roi_extractor = ModuleList(
                MODELS.build(cfg) for cfg in _per_stage(bbox_roi_extractor, num_stages,
                                                        'bbox_roi_extractor'))
        with cfg_path('bbox_head'):
            self.bbox_head = ModuleList(
                MODELS.build(cfg) for cfg in _per_stage(bbox_head, num_stages, 'bbox_head'))
        self.bbox_assigner: list = []
        self.bbox_sampler: list = []
        if train_cfg is not None:
            if not isinstance(train_cfg, (list, tuple)):
                raise ValueError('CascadeRoIHead: train_cfg.rcnn must be a list of '
                                 f'{num_stages} dicts (one per stage), got a '
                                 f'{type(train_cfg).__name__}')
            for stage, cfg in enumerate(_per_stage(train_cfg, num_stages, 'train_cfg.rcnn')):
                where = f'train_cfg.{stage}'  # model.train_cfg.rcnn.<stage> in a detector
                check_rcnn_cfg(cfg, TRAIN_KEYS, where)
                self.bbox_assigner.append(build_checked(
                    TASK_UTILS, require_cfg_key(cfg, 'assigner', where), f'{where}.assigner'))
                self.bbox_sampler.append(build_checked(
                    TASK_UTILS, require_cfg_key(cfg, 'sampler', where), f'{where}.sampler'))

    @property
    def num_classes(self) -> int:
        return self.bbox_head[-1].num_classes

    def _bbox_forward(self, stage: int, x: Sequence[Tensor], rois: Tensor) -> dict[str, Tensor]:
        """Stage ``stage``'s ``dict(cls_score (K, C + 1), bbox_pred (K, 4 or 4C),
        bbox_feats)`` of ``rois (K, 5)``."""
        return bbox_forward(self.bbox_roi_extractor[stage], self.bbox_head[stage], x, rois)

    @property
    def final_bbox_head(self) -> nn.Module:
        return self.bbox_head[-1]

    def forward_tensor(self, x: Sequence[Tensor], rois: Tensor) -> tuple[Tensor, ...]:
        """Every stage's ``cls_score (K, C + 1)`` and ``bbox_pred (K, 4 or 4C)`` on the same
        ``rois (K, 5)``, flattened ``(cls_0, bbox_0, cls_1, ...)``
        (:meth:`BaseRoIHead.forward_tensor`)."""
        outs: tuple[Tensor, ...] = ()
        for stage in range(self.num_stages):
            results = self._bbox_forward(stage, x, rois)
            outs += (results['cls_score'], results['bbox_pred'])
        return outs

    # ----------------------------------------------------------------------------- training
    def forward_train(self, x: Sequence[Tensor], img_metas: Sequence[dict],
                      proposal_list: Sequence[Tensor], gt_bboxes: Sequence[Tensor],
                      gt_labels: Sequence[Tensor],
                      gt_bboxes_ignore: Sequence[Tensor | None] | None = None,
                      gt_masks: Sequence | None = None) -> dict[str, Tensor]:
        """Losses of every stage: ``s{s}.loss_cls``, ``s{s}.loss_bbox`` (weighted by
        ``stage_loss_weights[s]``) and ``s{s}.acc`` (unweighted).

        Args:
            x: feature maps ``(B, channels, H_l, W_l)``.
            img_metas: per image meta dicts (``img_shape`` bounds the refined boxes).
            proposal_list: per image ``(n_i, 5)`` or ``(n_i, 4)`` RPN proposals.
            gt_bboxes: per image ``(G_i, 4)``.
            gt_labels: per image ``(G_i,)`` in ``[0, C)``.
            gt_bboxes_ignore: per image ``(M_i, 4)`` or None.
            gt_masks: not supported (must be None).
        """
        self.check_train_inputs(img_metas, proposal_list, gt_bboxes, gt_labels, gt_masks)
        losses: dict[str, Tensor] = {}
        for stage in range(self.num_stages):
            sampling_results = assign_and_sample(
                self.bbox_assigner[stage], self.bbox_sampler[stage], proposal_list,
                gt_bboxes, gt_labels, gt_bboxes_ignore)
            head = self.bbox_head[stage]
            results = bbox_forward_train(self.bbox_roi_extractor[stage], head, x,
                                         sampling_results, gt_bboxes, gt_labels,
                                         self.train_cfg[stage])
            weight = self.stage_loss_weights[stage]
            for name, value in results['loss_bbox'].items():
                losses[f's{stage}.{name}'] = value * weight if 'loss' in name else value
            if stage == self.num_stages - 1:
                break
            cls_score = results['cls_score']
            if cls_score.numel() == 0:  # no RoI at all: later stages have nothing to refine
                break
            with torch.no_grad():
                roi_labels = results['bbox_targets'][0]
                roi_labels = torch.where(roi_labels == head.num_classes,
                                         cls_score[:, :-1].argmax(dim=1), roi_labels)
                proposal_list = head.refine_bboxes(
                    results['rois'], roi_labels, results['bbox_pred'],
                    [res.pos_is_gt for res in sampling_results], img_metas)
        return losses

    # ----------------------------------------------------------------------------- testing
    def test_forward(self, x: Sequence[Tensor], rois: Tensor, img_metas: Sequence[dict]
                     ) -> tuple[Tensor, Tensor, Tensor]:
        """Run every stage on ``rois (K, 5)`` of all images, each on the previous stage's
        boxes regressed by its predicted class.

        Returns:
            The last stage's input ``rois (K, 5)``, the mean over stages of the class
            logits ``(K, C + 1)`` and the last stage's ``bbox_pred (K, 4 or 4C)``.
        """
        logits_sum = None
        for stage in range(self.num_stages):
            results = self._bbox_forward(stage, x, rois)
            cls_score, bbox_pred = results['cls_score'], results['bbox_pred']
            logits_sum = cls_score if logits_sum is None else logits_sum + cls_score
            if stage < self.num_stages - 1:
                labels = cls_score[:, :-1].argmax(dim=1)
                rois = self.bbox_head[stage].regress_by_class(rois, labels, bbox_pred,
                                                              img_metas)
        return rois, logits_sum / self.num_stages, bbox_pred
