"""What every RoI head of mmssd shares (mmdetection 2.x's ``BaseRoIHead`` and its test
mixin, box branch only): the R-CNN config checks, assignment and sampling per image, the
RoI forward and its training targets and losses, and the public test contract of every
RoI head: :meth:`BaseRoIHead.forward_tensor` (raw outputs of given RoIs),
:meth:`BaseRoIHead.simple_test_bboxes` (detections after NMS),
:meth:`BaseRoIHead.simple_test_bboxes_raw` (decoded boxes and scores, for test-time
augmentation), :meth:`BaseRoIHead.simple_test` and :meth:`BaseRoIHead.aug_test`; a
subclass provides ``forward_tensor``, ``test_forward`` and ``final_bbox_head``.

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

from ..task_modules import SamplingResult
from ..test_time_augs import rcnn_aug_bboxes
from ..utils import bbox2result, bbox2roi, check_cfg_keys
from ..utils.cfg_keys import check_nms_cfg

TRAIN_KEYS = ('assigner', 'sampler', 'pos_weight', 'debug')
TEST_KEYS = ('score_thr', 'nms', 'max_per_img')
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


class BaseRoIHead(BaseModule):
    """Base of the box-only RoI heads: rejects mask branches and shared heads (not
    implemented in mmssd), checks ``test_cfg``, and gives the batched test contract
    (:meth:`simple_test_bboxes`, :meth:`simple_test_bboxes_raw`, :meth:`simple_test`,
    :meth:`aug_test`) on top of a subclass's :meth:`test_forward`, :attr:`final_bbox_head`
    and :meth:`forward_tensor`.

    Args:
        train_cfg: the R-CNN ``train_cfg`` (checked by the subclass).
        test_cfg: R-CNN ``test_cfg``: ``score_thr``, ``nms``, ``max_per_img``.
        mask_roi_extractor, mask_head, shared_head: not implemented (must be None).
        init_cfg: mmengine init config.
    """

    def __init__(self, train_cfg: dict | list | None = None, test_cfg: dict | None = None,
                 mask_roi_extractor: dict | None = None, mask_head: dict | None = None,
                 shared_head: dict | None = None, init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        for key, value in (('mask_roi_extractor', mask_roi_extractor),
                           ('mask_head', mask_head), ('shared_head', shared_head)):
            if value is not None:
                raise NotImplementedError(f'{type(self).__name__}: {key} is not implemented '
                                          f'in mmssd (box detection only), got {key}={value!r}')
        check_rcnn_cfg(test_cfg, TEST_KEYS, 'test_cfg')
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    @property
    def with_bbox(self) -> bool:
        return True

    @property
    def with_mask(self) -> bool:
        return False

    @property
    def with_shared_head(self) -> bool:
        return False

    @property
    def num_classes(self) -> int:
        """Foreground classes ``C`` of the detections."""
        raise NotImplementedError

    @property
    def final_bbox_head(self) -> nn.Module:
        """The box head that decodes the test outputs (the last stage's for a cascade)."""
        raise NotImplementedError

    def forward_tensor(self, x: Sequence[Tensor], rois: Tensor) -> tuple[Tensor, ...]:
        """Raw outputs of given RoIs, without image metas (``mode='tensor'``: FLOP counting,
        tracing; mmdetection's ``forward_dummy``, batched).

        Args:
            x: feature maps ``(B, channels, H_l, W_l)``.
            rois: ``(K, 5)`` ``[batch_index, x1, y1, x2, y2]`` of the whole batch.

        Returns:
            Per stage ``cls_score (K, C + 1)`` then ``bbox_pred (K, 4 or 4C)``, flattened
            (one pair for a single-stage head; every stage of a cascade on the same
            ``rois``).
        """
        raise NotImplementedError

    def test_forward(self, x: Sequence[Tensor], rois: Tensor, img_metas: Sequence[dict]
                     ) -> tuple[Tensor, Tensor, Tensor]:
        """The test-time forward of ``rois (K, 5)`` of all images: the RoIs that
        :attr:`final_bbox_head` decodes ``(K, 5)``, their class logits ``(K, C + 1)`` and
        deltas ``bbox_pred (K, 4 or 4C)``."""
        raise NotImplementedError

    def check_train_inputs(self, img_metas: Sequence[dict], proposal_list: Sequence[Tensor],
                           gt_bboxes: Sequence[Tensor], gt_labels: Sequence[Tensor],
                           gt_masks: Sequence | None) -> None:
        """Raise on what ``forward_train`` cannot use: masks, a missing ``train_cfg``, or
        per-image lists of different lengths."""
        name = type(self).__name__
        if gt_masks is not None:
            raise NotImplementedError(f'{name}: gt_masks given, but mask branches are not '
                                      'implemented in mmssd')
        if self.train_cfg is None:
            raise RuntimeError(f'{name}.forward_train needs train_cfg (train_cfg.rcnn)')
        num_imgs = len(img_metas)
        if not (len(proposal_list) == len(gt_bboxes) == len(gt_labels) == num_imgs):
            raise ValueError(f'{num_imgs} img_metas but {len(proposal_list)} proposal sets, '
                             f'{len(gt_bboxes)} gt_bboxes and {len(gt_labels)} gt_labels')

    # ----------------------------------------------------------------------------- testing
    def simple_test_bboxes(self, x: Sequence[Tensor], img_metas: Sequence[dict],
                           proposals: Sequence[Tensor], rcnn_test_cfg: dict,
                           rescale: bool = False) -> tuple[list[Tensor], list[Tensor]]:
        """Detections of each image after NMS: ``det_bboxes (k, 5)`` ``[x1, y1, x2, y2,
        score]`` and ``det_labels (k,)`` in ``[0, C)``.

        Args:
            x: feature maps ``(B, channels, H_l, W_l)``.
            img_metas: ``B`` meta dicts (``img_shape``, ``scale_factor``).
            proposals: per image ``(n_i, 5)`` or ``(n_i, 4)``.
            rcnn_test_cfg: ``score_thr``, ``nms``, ``max_per_img`` (required: the boxes and
                scores before NMS are :meth:`simple_test_bboxes_raw`'s).
            rescale: boxes in original image pixels (divided by ``scale_factor``); else in
                the network input's, clipped to ``img_shape`` either way.
        """
        if rcnn_test_cfg is None:
            raise ValueError(f'{type(self).__name__}.simple_test_bboxes needs rcnn_test_cfg '
                             '(test_cfg.rcnn: score_thr, nms, max_per_img); the boxes and '
                             'scores before NMS are simple_test_bboxes_raw(x, img_metas, '
                             'proposals, rescale)')
        return self._decode_test_rois(x, img_metas, proposals, rcnn_test_cfg, rescale)

    def simple_test_bboxes_raw(self, x: Sequence[Tensor], img_metas: Sequence[dict],
                               proposals: Sequence[Tensor], rescale: bool = False
                               ) -> tuple[list[Tensor], list[Tensor]]:
        """The decoded boxes and scores of every proposal, before NMS (what test-time
        augmentation averages): per image ``bboxes (n_i, 4 or 4C)`` (clipped to
        ``img_shape``; with ``rescale`` in original image pixels) and softmax ``scores
        (n_i, C + 1)`` (background last). Arguments as :meth:`simple_test_bboxes`."""
        return self._decode_test_rois(x, img_metas, proposals, None, rescale)

    def _decode_test_rois(self, x: Sequence[Tensor], img_metas: Sequence[dict],
                          proposals: Sequence[Tensor], cfg: dict | None, rescale: bool
                          ) -> tuple[list[Tensor], list[Tensor]]:
        """:meth:`test_forward` of all images' proposals at once, decoded by
        :attr:`final_bbox_head` (``BBoxHead.get_bboxes_batched``: NMS per image with
        ``cfg``, the raw boxes and scores without)."""
        rois = bbox2roi(proposals)
        if rois.size(0) == 0:
            return self.empty_detections(rois, len(proposals), raw=cfg is None)
        rois, cls_score, bbox_pred = self.test_forward(x, rois, img_metas)
        results = self.final_bbox_head.get_bboxes_batched(rois, cls_score, bbox_pred,
                                                          img_metas, rescale=rescale, cfg=cfg)
        return [r[0] for r in results], [r[1] for r in results]

    def empty_detections(self, rois: Tensor, num_images: int, raw: bool
                         ) -> tuple[list[Tensor], list[Tensor]]:
        """The test result when there are no proposals at all: :meth:`simple_test_bboxes_raw`'s
        (``raw``) or :meth:`simple_test_bboxes`'."""
        if raw:
            empty = rois.new_zeros((0, 4)), rois.new_zeros((0, self.num_classes + 1))
        else:
            empty = rois.new_zeros((0, 5)), rois.new_zeros((0,), dtype=torch.long)
        return [empty[0]] * num_images, [empty[1]] * num_images

    def simple_test(self, x: Sequence[Tensor], proposal_list: Sequence[Tensor],
                    img_metas: Sequence[dict], rescale: bool = True) -> list[list[np.ndarray]]:
        """Per image, per class float32 ``(n, 5)`` arrays (:func:`bbox2result`)."""
        if self.test_cfg is None:
            raise RuntimeError(f'{type(self).__name__}.simple_test needs test_cfg '
                               '(test_cfg.rcnn)')
        det_bboxes, det_labels = self.simple_test_bboxes(x, img_metas, proposal_list,
                                                         self.test_cfg, rescale=rescale)
        return [bbox2result(bboxes, labels, self.num_classes)
                for bboxes, labels in zip(det_bboxes, det_labels, strict=True)]

    def aug_test(self, x: Sequence[Sequence[Tensor]], proposal_list: Sequence[Tensor],
                 img_metas: Sequence[Sequence[dict]],
                 rescale: bool = True) -> list[list[np.ndarray]]:
        """Test-time augmentation (mmdetection 2.x): ``x`` and ``img_metas`` are lists over
        augmentations of features and of B metas, ``proposal_list`` the merged proposals
        of each image in original pixels. Every augmentation's boxes and scores of them
        (:meth:`simple_test_bboxes_raw`) are mapped back and averaged, then one NMS
        (:func:`~mmssd.models.test_time_augs.rcnn_aug_bboxes`). Per image, per class
        float32 ``(n, 5)`` arrays."""
        results = rcnn_aug_bboxes(self, x, proposal_list, img_metas, rescale=rescale)
        return [bbox2result(dets, labels, self.num_classes) for dets, labels in results]
