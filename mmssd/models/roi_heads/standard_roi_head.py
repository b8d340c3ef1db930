"""mmdetection 2.x's ``StandardRoIHead`` (box branch): the second stage of Faster R-CNN.

Shapes: ``B`` images, ``L`` feature levels, proposals ``(n_i, 5)`` ``[x1, y1, x2, y2,
score]`` (or ``(n_i, 4)``) per image, ``K`` RoIs of the batch as ``(K, 5)``
``[batch_index, x1, y1, x2, y2]`` (:func:`bbox2roi`), ``C`` foreground classes.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssd.registry import MODELS, TASK_UTILS

from ..task_modules import SamplingResult
from ..test_time_augs import rcnn_aug_bboxes
from ..utils import bbox2result, bbox2roi, check_cfg_keys
from ..utils.cfg_keys import build_checked, cfg_path, check_nms_cfg, require_cfg_key

_TRAIN_KEYS = ('assigner', 'sampler', 'pos_weight', 'debug')
_TEST_KEYS = ('score_thr', 'nms', 'max_per_img')
_MASK_KEYS = ('mask_size', 'mask_thr_binary')


def check_rcnn_cfg(cfg: dict | None, allowed: Sequence[str], name: str) -> None:
    """Raise on keys of an R-CNN ``train_cfg`` / ``test_cfg`` (at path ``name``) that the
    box branch does not use: NotImplementedError for mask keys,
    :class:`~mmssd.models.utils.cfg_keys.ConfigKeyError` for any other or a bad ``nms``."""
    if cfg is None:
        return
    masks = sorted(set(cfg) & set(_MASK_KEYS))
    if masks:
        raise NotImplementedError(f'{name} has mask keys {masks}: mask branches are not '
                                  'implemented in mmssd (box detection only)')
    check_cfg_keys(cfg, allowed, name)
    if 'nms' in cfg:
        check_nms_cfg(cfg['nms'], f'{name}.nms')


def assign_and_sample(assigner, sampler, proposal_list: Sequence[Tensor],
                      gt_bboxes: Sequence[Tensor], gt_labels: Sequence[Tensor],
                      gt_bboxes_ignore: Sequence[Tensor | None] | None = None
                      ) -> list[SamplingResult]:
    """Assign each image's proposals to its ground truths and sample them.

    A loop over images, for assignment and sampling only (targets, RoI features and
    losses are batched). The proposal sets differ per image: ``assign_batched`` shares one
    prior set, so batching would mean assigning every ground truth of the batch against
    the concatenated proposals of all images (``prior_valid`` masking the others'), B
    times the IoU work of the loop for the same result. The sampler adds each image's
    ground truths as proposals and draws from torch's global generator image by image,
    exactly as mmdetection does, so seeded runs sample the same RoIs.

    Args:
        assigner: e.g. ``MaxIoUAssigner``.
        sampler: e.g. ``RandomSampler`` (its ``sample(assign_result, bboxes, gt_bboxes,
            gt_labels)``).
        proposal_list: per image ``(n_i, 4)`` or ``(n_i, 5)``.
        gt_bboxes: per image ``(G_i, 4)``.
        gt_labels: per image ``(G_i,)``.
        gt_bboxes_ignore: per image ``(M_i, 4)`` or None.
    """
    if gt_bboxes_ignore is None:
        gt_bboxes_ignore = [None] * len(proposal_list)
    results = []
    for proposals, bboxes, labels, ignore in zip(proposal_list, gt_bboxes, gt_labels,
                                                 gt_bboxes_ignore, strict=True):
        proposals = proposals[:, :4]
        bboxes = bboxes.to(proposals)
        assign_result = assigner.assign(proposals, bboxes, ignore, labels)
        results.append(sampler.sample(assign_result, proposals, bboxes, labels))
    return results


def sampled_rois(sampling_results: Sequence[SamplingResult]) -> Tensor:
    """``(K, 5)`` RoIs of sampling results: per image its positives then its negatives."""
    return bbox2roi([torch.cat([res.pos_bboxes, res.neg_bboxes]) for res in sampling_results])


def bbox_forward(roi_extractor: nn.Module, bbox_head: nn.Module, x: Sequence[Tensor],
                 rois: Tensor) -> dict[str, Tensor]:
    """RoI features of ``rois (K, 5)`` and a box head's outputs on them: ``dict(cls_score
    (K, C + 1), bbox_pred (K, 4 or 4C), bbox_feats (K, channels, h, w))``."""
    bbox_feats = roi_extractor(x[:roi_extractor.num_inputs], rois)
    cls_score, bbox_pred = bbox_head(bbox_feats)
    return {'cls_score': cls_score, 'bbox_pred': bbox_pred, 'bbox_feats': bbox_feats}


def bbox_forward_train(roi_extractor: nn.Module, bbox_head: nn.Module, x: Sequence[Tensor],
                       sampling_results: Sequence[SamplingResult], gt_bboxes: Sequence[Tensor],
                       gt_labels: Sequence[Tensor], rcnn_train_cfg: dict) -> dict:
    """:func:`bbox_forward` of all sampled RoIs of the batch, plus ``rois (K, 5)``, the
    head's ``bbox_targets`` (labels, label weights, box targets, box weights) and its
    ``loss_bbox`` (the loss dict: ``loss_cls``, ``acc``, ``loss_bbox``)."""
    rois = sampled_rois(sampling_results)
    results = bbox_forward(roi_extractor, bbox_head, x, rois)
    bbox_targets = bbox_head.get_targets(sampling_results, gt_bboxes, gt_labels, rcnn_train_cfg)
    loss_bbox = bbox_head.loss(results['cls_score'], results['bbox_pred'], rois, *bbox_targets)
    results.update(loss_bbox=loss_bbox, rois=rois, bbox_targets=bbox_targets)
    return results


@MODELS.register_module()
class StandardRoIHead(BaseModule):
    """Box branch of the R-CNN second stage (mmdetection 2.x arguments and module names).

    Training (:meth:`forward_train`): each image's proposals are assigned and sampled
    (:func:`assign_and_sample`, a per-image loop; ``add_gt_as_proposals`` adds the ground
    truths); then one :func:`bbox2roi` of all sampled RoIs, one RoI-feature extraction,
    one head forward, and the targets and losses of the whole batch at once.
    Testing (:meth:`simple_test_bboxes`): one forward of all images' proposals, decoding,
    clipping and rescaling of all RoIs at once, then per-class NMS per image.

    Args:
        bbox_roi_extractor: e.g. ``SingleRoIExtractor`` config.
        bbox_head: e.g. ``Shared2FCBBoxHead`` config.
        mask_roi_extractor, mask_head, shared_head: not implemented (must be None).
        train_cfg: R-CNN ``train_cfg``: ``assigner``, ``sampler``, ``pos_weight``, ``debug``.
        test_cfg: R-CNN ``test_cfg``: ``score_thr``, ``nms``, ``max_per_img``.
        pretrained: deprecated; mmdetection passes the backbone's checkpoint here for a
            ``shared_head``, which mmssd does not support, so it is unused.
        init_cfg: mmengine init config (the parts initialise themselves by default).
    """

    def __init__(self, bbox_roi_extractor: dict | None = None, bbox_head: dict | None = None,
                 mask_roi_extractor: dict | None = None, mask_head: dict | None = None,
                 shared_head: dict | None = None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, pretrained: str | None = None,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        for key, value in (('mask_roi_extractor', mask_roi_extractor),
                           ('mask_head', mask_head), ('shared_head', shared_head)):
            if value is not None:
                raise NotImplementedError(f'StandardRoIHead: {key} is not implemented in mmssd '
                                          f'(box detection only), got {key}={value!r}')
        if bbox_roi_extractor is None or bbox_head is None:
            raise ValueError('StandardRoIHead needs bbox_roi_extractor and bbox_head configs')
        check_rcnn_cfg(train_cfg, _TRAIN_KEYS, 'train_cfg')
        check_rcnn_cfg(test_cfg, _TEST_KEYS, 'test_cfg')
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.pretrained = pretrained
        with cfg_path('bbox_roi_extractor'):
            self.bbox_roi_extractor = MODELS.build(bbox_roi_extractor)
        with cfg_path('bbox_head'):
            self.bbox_head = MODELS.build(bbox_head)
        self.bbox_assigner = self.bbox_sampler = None
        if train_cfg is not None:
            self.bbox_assigner = build_checked(
                TASK_UTILS, require_cfg_key(train_cfg, 'assigner', 'train_cfg'),
                'train_cfg.assigner')
            self.bbox_sampler = build_checked(
                TASK_UTILS, require_cfg_key(train_cfg, 'sampler', 'train_cfg'),
                'train_cfg.sampler')

    @property
    def with_bbox(self) -> bool:
        return True

    @property
    def with_mask(self) -> bool:
        return False

    @property
    def with_shared_head(self) -> bool:
        return False

    def _bbox_forward(self, x: Sequence[Tensor], rois: Tensor) -> dict[str, Tensor]:
        """RoI features and head outputs of ``rois (K, 5)``.

        Returns ``dict(cls_score (K, C + 1), bbox_pred (K, 4 or 4C),
        bbox_feats (K, channels, h, w))``.
        """
        return bbox_forward(self.bbox_roi_extractor, self.bbox_head, x, rois)

    def forward_dummy(self, x: Sequence[Tensor], proposals: Tensor) -> tuple[Tensor, Tensor]:
        """Head outputs of one image's ``proposals (n, 4 or 5)`` (FLOP counting)."""
        results = self._bbox_forward(x, bbox2roi([proposals]))
        return results['cls_score'], results['bbox_pred']

    # ----------------------------------------------------------------------------- training
    def forward_train(self, x: Sequence[Tensor], img_metas: Sequence[dict],
                      proposal_list: Sequence[Tensor], gt_bboxes: Sequence[Tensor],
                      gt_labels: Sequence[Tensor],
                      gt_bboxes_ignore: Sequence[Tensor | None] | None = None,
                      gt_masks: Sequence | None = None) -> dict[str, Tensor]:
        """Losses of a batch: ``dict(loss_cls, loss_bbox, acc)`` (scalars).

        Args:
            x: ``L`` (or more) feature maps ``(B, channels, H_l, W_l)``.
            img_metas: per image meta dicts.
            proposal_list: per image ``(n_i, 5)`` or ``(n_i, 4)`` proposals.
            gt_bboxes: per image ``(G_i, 4)``.
            gt_labels: per image ``(G_i,)`` in ``[0, C)``.
            gt_bboxes_ignore: per image ``(M_i, 4)`` or None.
            gt_masks: not supported (must be None).
        """
        if gt_masks is not None:
            raise NotImplementedError('StandardRoIHead: gt_masks given, but mask branches are '
                                      'not implemented in mmssd')
        if self.train_cfg is None:
            raise RuntimeError('StandardRoIHead.forward_train needs train_cfg (train_cfg.rcnn)')
        num_imgs = len(img_metas)
        if not (len(proposal_list) == len(gt_bboxes) == len(gt_labels) == num_imgs):
            raise ValueError(f'{num_imgs} img_metas but {len(proposal_list)} proposal sets, '
                             f'{len(gt_bboxes)} gt_bboxes and {len(gt_labels)} gt_labels')
        sampling_results = assign_and_sample(self.bbox_assigner, self.bbox_sampler,
                                             proposal_list, gt_bboxes, gt_labels,
                                             gt_bboxes_ignore)
        bbox_results = self._bbox_forward_train(x, sampling_results, gt_bboxes, gt_labels,
                                                img_metas)
        return bbox_results['loss_bbox']

    def _bbox_forward_train(self, x: Sequence[Tensor], sampling_results: Sequence[SamplingResult],
                            gt_bboxes: Sequence[Tensor], gt_labels: Sequence[Tensor],
                            img_metas: Sequence[dict]) -> dict:
        """:meth:`_bbox_forward` of all sampled RoIs, plus ``loss_bbox`` (the loss dict)
        and ``bbox_targets`` (the targets, for cascades)."""
        return bbox_forward_train(self.bbox_roi_extractor, self.bbox_head, x, sampling_results,
                                  gt_bboxes, gt_labels, self.train_cfg)

    # ----------------------------------------------------------------------------- testing
    def simple_test_bboxes(self, x: Sequence[Tensor], img_metas: Sequence[dict],
                           proposals: Sequence[Tensor], rcnn_test_cfg: dict | None,
                           rescale: bool = False) -> tuple[list[Tensor], list[Tensor]]:
        """Detections of each image: ``det_bboxes (k, 5)`` ``[x1, y1, x2, y2, score]`` and
        ``det_labels (k,)`` (with ``rcnn_test_cfg`` None: the decoded ``(n, 4 or 4C)``
        boxes and ``(n, C + 1)`` scores of every proposal).

        Boxes are clipped to each image's ``img_shape``; with ``rescale`` divided by its
        ``scale_factor`` (original image pixels).
        """
        rois = bbox2roi(proposals)
        if rois.size(0) == 0:
            if rcnn_test_cfg is None:
                det_bbox = rois.new_zeros((0, 4))
                det_label = rois.new_zeros((0, self.bbox_head.num_classes + 1))
            else:
                det_bbox = rois.new_zeros((0, 5))
                det_label = rois.new_zeros((0,), dtype=torch.long)
            return [det_bbox] * len(proposals), [det_label] * len(proposals)
        bbox_results = self._bbox_forward(x, rois)
        results = self.bbox_head.get_bboxes_batched(
            rois, bbox_results['cls_score'], bbox_results['bbox_pred'], img_metas,
            rescale=rescale, cfg=rcnn_test_cfg)
        return [r[0] for r in results], [r[1] for r in results]

    def simple_test(self, x: Sequence[Tensor], proposal_list: Sequence[Tensor],
                    img_metas: Sequence[dict], rescale: bool = True) -> list[list[np.ndarray]]:
        """Per image, per class float32 ``(n, 5)`` arrays (:func:`bbox2result`)."""
        if self.test_cfg is None:
            raise RuntimeError('StandardRoIHead.simple_test needs test_cfg (test_cfg.rcnn)')
        det_bboxes, det_labels = self.simple_test_bboxes(x, img_metas, proposal_list,
                                                         self.test_cfg, rescale=rescale)
        return [bbox2result(bboxes, labels, self.bbox_head.num_classes)
                for bboxes, labels in zip(det_bboxes, det_labels, strict=True)]

    def aug_test(self, x: Sequence[Sequence[Tensor]], proposal_list: Sequence[Tensor],
                 img_metas: Sequence[Sequence[dict]],
                 rescale: bool = True) -> list[list[np.ndarray]]:
        """Test-time augmentation (mmdetection 2.x): ``x`` and ``img_metas`` are lists over
        augmentations of features and of B metas, ``proposal_list`` the merged proposals
        of each image in original pixels. Every augmentation's boxes and scores of them
        (:meth:`simple_test_bboxes` without NMS) are mapped back and averaged, then one
        NMS (:func:`~mmssd.models.test_time_augs.rcnn_aug_bboxes`). Per image, per class
        float32 ``(n, 5)`` arrays."""
        results = rcnn_aug_bboxes(self, x, proposal_list, img_metas, rescale=rescale)
        num_classes = self.bbox_head.num_classes
        return [bbox2result(dets, labels, num_classes) for dets, labels in results]
