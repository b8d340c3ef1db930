"""mmdetection 2.x's ``StandardRoIHead`` (box branch): the second stage of Faster R-CNN.

Shapes: ``B`` images, ``L`` feature levels, proposals ``(n_i, 5)`` ``[x1, y1, x2, y2,
score]`` (or ``(n_i, 4)``) per image, ``K`` RoIs of the batch as ``(K, 5)``
``[batch_index, x1, y1, x2, y2]`` (:func:`bbox2roi`), ``C`` foreground classes.
"""
from __future__ import annotations

from collections.abc import Sequence

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


@MODELS.register_module()
class StandardRoIHead(BaseRoIHead):
    """Box branch of the R-CNN second stage (mmdetection 2.x arguments and module names).

    Training (:meth:`forward_train`): each image's proposals are assigned and sampled
    (:func:`assign_and_sample`, a per-image loop; ``add_gt_as_proposals`` adds the ground
    truths); then one :func:`bbox2roi` of all sampled RoIs, one RoI-feature extraction,
    one head forward, and the targets and losses of the whole batch at once.
    Testing (:meth:`test_forward`, under :class:`BaseRoIHead`'s ``simple_test_bboxes``):
    one forward of all images' proposals, decoding, clipping and rescaling of all RoIs at
    once, then per-class NMS per image.

    Args:
        bbox_roi_extractor: e.g. ``SingleRoIExtractor`` config.
        bbox_head: e.g. ``Shared2FCBBoxHead`` config.
        mask_roi_extractor, mask_head, shared_head: not implemented (must be None).
        train_cfg: R-CNN ``train_cfg``: ``assigner``, ``sampler``, ``pos_weight``, ``debug``.
        test_cfg: R-CNN ``test_cfg``: ``score_thr``, ``nms``, ``max_per_img``.
        pretrained: ignored; accepted because mmdetection 2.x configs and detectors pass it
            (it only initialises a ``shared_head``, which mmssd does not support).
        init_cfg: mmengine init config (the parts initialise themselves by default).
    """

    def __init__(self, bbox_roi_extractor: dict | None = None, bbox_head: dict | None = None,
                 mask_roi_extractor: dict | None = None, mask_head: dict | None = None,
                 shared_head: dict | None = None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, pretrained: str | None = None,
                 init_cfg: dict | list | None = None) -> None:
        del pretrained  # see Args
        super().__init__(train_cfg, test_cfg, mask_roi_extractor, mask_head, shared_head,
                         init_cfg)
        if bbox_roi_extractor is None or bbox_head is None:
            raise ValueError('StandardRoIHead needs bbox_roi_extractor and bbox_head configs')
        check_rcnn_cfg(train_cfg, TRAIN_KEYS, 'train_cfg')
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
    def num_classes(self) -> int:
        return self.bbox_head.num_classes

    def _bbox_forward(self, x: Sequence[Tensor], rois: Tensor) -> dict[str, Tensor]:
        """RoI features and head outputs of ``rois (K, 5)``.

        Returns ``dict(cls_score (K, C + 1), bbox_pred (K, 4 or 4C),
        bbox_feats (K, channels, h, w))``.
        """
        return bbox_forward(self.bbox_roi_extractor, self.bbox_head, x, rois)

    @property
    def final_bbox_head(self) -> nn.Module:
        return self.bbox_head

    def forward_tensor(self, x: Sequence[Tensor], rois: Tensor) -> tuple[Tensor, Tensor]:
        """``cls_score (K, C + 1)`` and ``bbox_pred (K, 4 or 4C)`` of ``rois (K, 5)``
        (:meth:`BaseRoIHead.forward_tensor`)."""
        results = self._bbox_forward(x, rois)
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
        self.check_train_inputs(img_metas, proposal_list, gt_bboxes, gt_labels, gt_masks)
        sampling_results = assign_and_sample(self.bbox_assigner, self.bbox_sampler,
                                             proposal_list, gt_bboxes, gt_labels,
                                             gt_bboxes_ignore)
        bbox_results = bbox_forward_train(self.bbox_roi_extractor, self.bbox_head, x,
                                          sampling_results, gt_bboxes, gt_labels,
                                          self.train_cfg)
        return bbox_results['loss_bbox']

    # ----------------------------------------------------------------------------- testing
    def test_forward(self, x: Sequence[Tensor], rois: Tensor, img_metas: Sequence[dict]
                     ) -> tuple[Tensor, Tensor, Tensor]:
        """``rois (K, 5)`` with their ``cls_score (K, C + 1)`` and ``bbox_pred (K, 4 or
        4C)`` (one forward of all images' RoIs; ``img_metas`` is not needed)."""
        results = self._bbox_forward(x, rois)
        return rois, results['cls_score'], results['bbox_pred']
