"""Region proposal network head (Ren et al. 2015), mmdetection 2.x semantics and names.

An :class:`AnchorHead` with one foreground class: objectness ``loss_cls`` and ``loss_bbox``
over the ``RandomSampler``'s anchors (assigned and sampled for the whole batch at once),
and proposals instead of detections. Shapes: ``B`` images, ``A`` anchors per location (the
same on every level), ``N`` anchors per image.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor, nn
from torchvision.ops import nms

from mmssd.registry import MODELS

from ..test_time_augs.merge_augs import merge_aug_proposals, per_image_metas
from ..utils.cfg_keys import (
    NMS_KEYS,
    ConfigKeyError,
    check_cfg_keys,
    invalid_cfg_value,
    require_cfg_key,
)
from ..utils.multiclass_nms import best_first_nms, per_class_nms
from ..utils.scale_factors import scale_factors_tensor
from .anchor_head import AnchorHead

PROPOSAL_KEYS = ('nms_pre', 'nms', 'max_per_img', 'min_bbox_size', 'nms_thr', 'max_num',
                 'nms_post', 'nms_across_levels')


@dataclass(frozen=True)
class ProposalCfg:
    """The settings of one way of making proposals (``test_cfg.rpn`` or
    ``train_cfg.rpn_proposal``), resolved from any of mmdetection 2.x's key sets by
    :func:`resolve_proposal_cfg` when the :class:`RPNHead` is built.

    Attributes:
        nms_pre: anchors of highest objectness kept per level before NMS (-1: all).
        iou_threshold: the NMS IoU threshold.
        across_levels: one NMS over all levels instead of one per level.
        max_per_img: proposals kept per image after NMS.
        min_bbox_size: boxes with a side ``<=`` this are dropped (when ``>= 0``).
    """

    nms_pre: int
    iou_threshold: float
    across_levels: bool
    max_per_img: int
    min_bbox_size: float


def resolve_proposal_cfg(cfg: dict, where: str = 'test_cfg') -> ProposalCfg:
    """Read ``rpn_proposal`` / ``test_cfg.rpn`` with both mmdetection 2.x key sets.

    2.14+ keys: ``nms_pre`` (default -1: all), ``nms=dict(type='nms', iou_threshold)``,
    ``max_per_img``, ``min_bbox_size`` (default 0). Older keys, resolved as mmdetection 2.x
    does (with its deprecation warning): ``nms_thr`` is ``nms.iou_threshold`` and
    ``max_num`` is ``max_per_img`` (each pair must agree when both are given);
    ``nms_post``, the final count of mmdetection < 2.14, is ignored as 2.14+ ignores it,
    unless neither ``max_per_img`` nor ``max_num`` is given. ``nms_across_levels=True`` (or
    ``nms.class_agnostic=True``) runs one NMS over all levels instead of one per level
    (mmdetection 2.x ignores ``nms_across_levels``). Unknown, missing and contradicting
    keys raise :class:`~mmssd.models.utils.cfg_keys.ConfigKeyError` at ``where`` (the path
    of ``cfg``).
    """
    cfg = dict(cfg)
    check_cfg_keys(cfg, PROPOSAL_KEYS, where)
    if 'nms' not in cfg or 'max_num' in cfg or 'nms_thr' in cfg:
        warnings.warn('In rpn_proposal or test_cfg, nms_thr has been moved to a dict named nms '
                      'as iou_threshold and max_num has been renamed as max_per_img; the old '
                      'names are deprecated (as in mmdetection 2.x).', stacklevel=3)
    nms_cfg = dict(cfg.get('nms') or {})
    check_cfg_keys(nms_cfg, NMS_KEYS, f'{where}.nms')
    if 'nms_thr' in cfg:
        if 'iou_threshold' in nms_cfg and nms_cfg['iou_threshold'] != cfg['nms_thr']:
            raise invalid_cfg_value('nms_thr', f"nms_thr={cfg['nms_thr']} and nms.iou_threshold="
                                    f"{nms_cfg['iou_threshold']} disagree; delete nms_thr", where)
        nms_cfg.setdefault('iou_threshold', cfg['nms_thr'])
    if nms_cfg.pop('type', 'nms') != 'nms':
        raise invalid_cfg_value('type', f"proposals take nms type 'nms' only, got "
                                f"{cfg['nms']['type']!r} (soft_nms is for the detection "
                                "heads' test_cfg)", f'{where}.nms')
    iou_threshold = float(require_cfg_key(
        nms_cfg, 'iou_threshold', f'{where}.nms',
        "the RPN proposal config needs nms=dict(type='nms', iou_threshold=...) (or nms_thr)"))
    across_levels = bool(nms_cfg.get('class_agnostic', False) or
                         cfg.get('nms_across_levels', False))
    if 'max_num' in cfg and 'max_per_img' in cfg and cfg['max_num'] != cfg['max_per_img']:
        raise invalid_cfg_value('max_num', f"max_num={cfg['max_num']} and max_per_img="
                                f"{cfg['max_per_img']} disagree; delete max_num", where)
    for key in ('max_per_img', 'max_num', 'nms_post'):
        if key in cfg:
            max_per_img = int(cfg[key])
            break
    else:
        raise ConfigKeyError(where, 'max_per_img', 'missing', detail='the proposals kept per '
                             'image')
    return ProposalCfg(int(cfg.get('nms_pre', -1)), iou_threshold, across_levels, max_per_img,
                       float(cfg.get('min_bbox_size', 0)))


@MODELS.register_module()
class RPNHead(AnchorHead):
    """RPN head with mmdetection 2.x's arguments and module names.

    On every level the feature ``(B, in_channels, H, W)`` goes through ``rpn_conv`` (a 3x3
    conv, or ``num_convs`` ConvModules, then ReLU), then ``rpn_cls`` to objectness logits
    ``(B, A * K, H, W)`` (``K`` = 1 with a sigmoid loss, 2 with softmax: foreground first)
    and ``rpn_reg`` to deltas ``(B, A * 4, H, W)``.

    Training (``train_cfg``: ``assigner``, ``sampler``, ``allowed_border``, ``pos_weight``,
    ``debug``): positives get label 0, every other anchor 1 (background); the losses
    ``loss_rpn_cls`` and ``loss_rpn_bbox`` are averaged over the sampled anchors
    (``num_total_pos + num_total_neg``; over the positives with a focal-type loss).

    Args:
        in_channels: channels of every input level.
        feat_channels: channels of ``rpn_conv``.
        anchor_generator: default ``rpn_r50_fpn``'s (scale 8, ratios 0.5/1/2, strides
            4..64).
        bbox_coder: default ``DeltaXYWHBBoxCoder`` (means 0, stds 1).
        loss_cls: default ``CrossEntropyLoss(use_sigmoid=True)``.
        loss_bbox: default ``L1Loss``.
        reg_decoded_bbox: regress decoded boxes instead of deltas.
        num_convs: convs in ``rpn_conv``.
        train_cfg: see above.
        test_cfg: the proposals at test time (a detector's ``test_cfg.rpn``; keys:
            :func:`resolve_proposal_cfg`), held resolved as :attr:`test_proposal_cfg`.
        init_cfg: default normal(std=0.01) convs.
        num_classes: must be 1 (accepted for configs that state it).
        proposal_cfg: the proposals made for the RoI head while training (a two-stage
            detector's ``train_cfg.rpn_proposal``), held resolved as
            :attr:`train_proposal_cfg`; default ``test_cfg``'s.

    Each proposal config is resolved once, here: a bad or misspelt key raises
    :class:`~mmssd.models.utils.cfg_keys.ConfigKeyError` when the head is built, and the
    older mmdetection keys warn then.
    """

    def __init__(self, in_channels: int, feat_channels: int = 256,
                 anchor_generator: dict | None = None, bbox_coder: dict | None = None,
                 loss_cls: dict | None = None, loss_bbox: dict | None = None,
                 reg_decoded_bbox: bool = False, num_convs: int = 1,
                 train_cfg: dict | None = None, test_cfg: dict | None = None,
                 init_cfg: dict | list | None = None, num_classes: int = 1,
                 proposal_cfg: dict | None = None) -> None:
        if num_classes != 1:
            raise ValueError(f'RPNHead scores objectness: num_classes must be 1, got '
                             f'{num_classes}')
        test_proposal_cfg = (None if test_cfg is None
                             else resolve_proposal_cfg(test_cfg, 'test_cfg'))
        train_proposal_cfg = (test_proposal_cfg if proposal_cfg is None
                              else resolve_proposal_cfg(proposal_cfg, 'proposal_cfg'))
        if anchor_generator is None:
            anchor_generator = {'type': 'AnchorGenerator', 'scales': [8],
                                'ratios': [0.5, 1.0, 2.0], 'strides': [4, 8, 16, 32, 64]}
        self.num_convs = num_convs  # read by _init_layers, which the base constructor calls
        super().__init__(
            1, in_channels, feat_channels, anchor_generator=anchor_generator,
            bbox_coder=bbox_coder, reg_decoded_bbox=reg_decoded_bbox,
            loss_cls=loss_cls or {'type': 'CrossEntropyLoss', 'use_sigmoid': True,
                                  'loss_weight': 1.0},
            loss_bbox=loss_bbox or {'type': 'L1Loss', 'loss_weight': 1.0},
            train_cfg=train_cfg, test_cfg=test_cfg,
            init_cfg=init_cfg or {'type': 'Normal', 'layer': 'Conv2d', 'std': 0.01})
        #: ``test_cfg`` resolved: the proposals of :meth:`simple_test_rpn` (None: no test).
        self.test_proposal_cfg: ProposalCfg | None = test_proposal_cfg
        #: ``proposal_cfg`` (else ``test_cfg``) resolved: the proposals made for the RoI
        #: head while training (None: the detector cannot train its RoI head).
        self.train_proposal_cfg: ProposalCfg | None = train_proposal_cfg

    def check_cfgs(self, train_cfg: dict | None, test_cfg: dict | None) -> None:
        """Refuse unknown ``train_cfg`` keys (``test_cfg`` is checked by resolving it in
        :meth:`__init__`)."""
        check_cfg_keys(train_cfg, self.TRAIN_CFG_KEYS, 'train_cfg')

    def _init_layers(self) -> None:
        num_priors = self._same_priors_per_level()
        if self.num_convs > 1:
            # inplace=False: the ReLU after the last conv must not modify its output in place
            self.rpn_conv = nn.Sequential(*[
                ConvModule(self.in_channels if i == 0 else self.feat_channels,
                           self.feat_channels, 3, padding=1, inplace=False)
                for i in range(self.num_convs)])
        else:
            self.rpn_conv = nn.Conv2d(self.in_channels, self.feat_channels, 3, padding=1)
        self.rpn_cls = nn.Conv2d(self.feat_channels, num_priors * self.cls_out_channels, 1)
        self.rpn_reg = nn.Conv2d(self.feat_channels, num_priors * 4, 1)

    def forward_single(self, feat: Tensor) -> tuple[Tensor, Tensor]:
        """One level ``(B, in_channels, H, W)`` -> ``(B, A * K, H, W)``, ``(B, A * 4, H, W)``."""
        feat = F.relu(self.rpn_conv(feat))
        return self.rpn_cls(feat), self.rpn_reg(feat)

    # ----------------------------------------------------------------------------- training
    def loss(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
             gt_bboxes: Sequence[Tensor], gt_labels: Sequence[Tensor] | None,
             img_metas: Sequence[dict],
             gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """``dict(loss_rpn_cls=scalar, loss_rpn_bbox=scalar)`` of a batch; ``gt_labels``
        must be None (objectness is class-agnostic)."""
        if gt_labels is not None:
            raise ValueError('RPNHead is class-agnostic: pass gt_labels=None')
        losses = super().loss(cls_scores, bbox_preds, gt_bboxes, None, img_metas,
                              gt_bboxes_ignore)
        return {'loss_rpn_cls': losses['loss_cls'], 'loss_rpn_bbox': losses['loss_bbox']}

    def forward_train(self, x: Sequence[Tensor], img_metas: Sequence[dict],
                      gt_bboxes: Sequence[Tensor], gt_labels: Sequence[Tensor] | None = None,
                      gt_bboxes_ignore: Sequence[Tensor] | None = None,
                      proposal_cfg: ProposalCfg | dict | None = None
                      ) -> dict[str, Tensor] | tuple[dict[str, Tensor], list[Tensor]]:
        """Losses of features ``x = [(B, in_channels, H_l, W_l)]``, and with
        ``proposal_cfg`` (a detector passes :attr:`train_proposal_cfg`) also the proposals
        of the detached outputs, per image ``(n, 5)`` (as mmdetection 2.x: the losses
        alone when ``proposal_cfg`` is None). A dict, as mmdetection 2.x code passes it,
        is resolved (:func:`resolve_proposal_cfg`) on each call."""
        cls_scores, bbox_preds = self(x)
        losses = self.loss(cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas,
                           gt_bboxes_ignore)
        if proposal_cfg is None:
            return losses
        if isinstance(proposal_cfg, dict):
            proposal_cfg = resolve_proposal_cfg(proposal_cfg, 'proposal_cfg')
        with torch.no_grad():
            proposals = self.get_proposals([s.detach() for s in cls_scores],
                                           [b.detach() for b in bbox_preds], img_metas,
                                           cfg=proposal_cfg)
        return losses, proposals

    # ----------------------------------------------------------------------------- testing
    def get_bboxes(self, *args, **kwargs) -> list[tuple[Tensor, Tensor]]:
        """Refused: an RPN makes proposals, not the ``(det_bboxes, det_labels)`` pairs of
        :meth:`BaseDenseHead.get_bboxes`; :meth:`get_proposals` is mmdetection 2.x's
        ``RPNHead.get_bboxes`` (same outputs, ``rescale`` default False)."""
        raise NotImplementedError(
            'RPNHead.get_bboxes is not provided (its result would not be the (det_bboxes, '
            'det_labels) pairs of AnchorHead.get_bboxes): call RPNHead.get_proposals('
            'cls_scores, bbox_preds, img_metas, cfg=None, rescale=False), which returns '
            "mmdetection 2.x's RPNHead.get_bboxes proposals, per image (n, 5)")

    def get_proposals(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                      img_metas: Sequence[dict], cfg: ProposalCfg | None = None,
                      rescale: bool = False) -> list[Tensor]:
        """Proposals of each image, ``(n, 5)`` ``[x1, y1, x2, y2, score]`` by decreasing score.

        Per level the ``nms_pre`` anchors of highest objectness (sigmoid, or the softmax's
        foreground column) of every image are decoded and clipped to its ``img_shape``
        (batched); then per image boxes with ``w <= min_bbox_size`` or
        ``h <= min_bbox_size`` go (when ``min_bbox_size >= 0``), NMS runs within each
        level (across levels with ``nms_across_levels``) and the best ``max_per_img``
        stay. Boxes are in the network input's pixels, divided by ``scale_factor`` only
        with ``rescale``.

        Args:
            cls_scores: per level ``(B, A * K, H_l, W_l)`` objectness logits.
            bbox_preds: per level ``(B, A * 4, H_l, W_l)`` deltas.
            img_metas: ``B`` meta dicts (``img_shape``; ``scale_factor`` with ``rescale``).
            cfg: resolved settings (:attr:`train_proposal_cfg`, or from
                :func:`resolve_proposal_cfg`); default :attr:`test_proposal_cfg`.
            rescale: boxes in original image pixels.
        """
        cfg = self.test_proposal_cfg if cfg is None else cfg
        if cfg is None:
            raise RuntimeError('RPNHead needs test_cfg (or cfg) to make proposals')
        if not isinstance(cfg, ProposalCfg):
            raise TypeError(f'RPNHead.get_proposals: cfg must be a ProposalCfg (resolve a '
                            f'config dict once with resolve_proposal_cfg), got '
                            f'{type(cfg).__name__}')
        bboxes, scores, level_ids = self.mlvl_topk_decode(cls_scores, bbox_preds, img_metas,
                                                          cfg.nms_pre)
        scores = scores[..., 0]  # (B, n) objectness
        keep = torch.ones_like(scores, dtype=torch.bool)
        if cfg.min_bbox_size >= 0:
            sizes = bboxes[..., 2:] - bboxes[..., :2]
            keep = (sizes > cfg.min_bbox_size).all(dim=-1)
        proposals = [self._nms_single(bboxes[i][keep[i]], scores[i][keep[i]],
                                      level_ids[keep[i]], cfg)
                     for i in range(bboxes.size(0))]
        if rescale:
            factors = scale_factors_tensor(img_metas, bboxes)[:, 0]  # (B, 4)
            proposals = [torch.cat([p[:, :4] / f, p[:, 4:]], dim=1)
                         for p, f in zip(proposals, factors, strict=True)]
        return proposals

    def _nms_single(self, bboxes: Tensor, scores: Tensor, level_ids: Tensor,
                    cfg: ProposalCfg) -> Tensor:
        """NMS of one image's candidates ``bboxes (k, 4)``, ``scores (k,)`` of levels
        ``level_ids (k,)``: the best ``max_per_img`` kept, ``(n, 5)``."""
        if cfg.across_levels:
            def suppress(inds: Tensor) -> Tensor:
                return nms(bboxes[inds], scores[inds], cfg.iou_threshold)
        else:
            def suppress(inds: Tensor) -> Tensor:
                return per_class_nms(bboxes[inds], scores[inds], level_ids[inds],
                                     self.prior_generator.num_levels, cfg.iou_threshold)
        keep = best_first_nms(suppress, scores, cfg.max_per_img)
        return torch.cat([bboxes[keep], scores[keep, None]], dim=1)

    def simple_test_rpn(self, x: Sequence[Tensor], img_metas: Sequence[dict]) -> list[Tensor]:
        """Proposals of features ``x`` with ``test_cfg``: per image ``(n, 5)``, in the
        network input's pixels."""
        cls_scores, bbox_preds = self(x)
        return self.get_proposals(cls_scores, bbox_preds, img_metas)

    def aug_test_rpn(self, feats: Sequence[Sequence[Tensor]],
                     img_metas: Sequence[Sequence[dict]]) -> list[Tensor]:
        """Proposals under test-time augmentation (mmdetection 2.x): ``feats`` and
        ``img_metas`` are lists over augmentations; each one's proposals (``test_cfg``)
        are mapped back to the original image and merged per image by one NMS
        (:func:`~mmssd.models.test_time_augs.merge_aug_proposals`). Per image ``(n, 5)``
        in original image pixels."""
        cfg = self.test_proposal_cfg
        if cfg is None:
            raise RuntimeError('RPNHead needs test_cfg to make proposals')
        aug_proposals = [self.simple_test_rpn(x, metas)
                         for x, metas in zip(feats, img_metas, strict=True)]
        return [merge_aug_proposals([p[i] for p in aug_proposals], metas_i, cfg.iou_threshold,
                                    cfg.max_per_img)
                for i, metas_i in enumerate(per_image_metas(img_metas))]

    def aug_test(self, feats: Sequence[Sequence[Tensor]], img_metas: Sequence[Sequence[dict]],
                 rescale: bool = True) -> list[Tensor]:
        """:meth:`aug_test_rpn`, the proposals in original image pixels with ``rescale``
        (else in the first augmentation's scale)."""
        proposals = self.aug_test_rpn(feats, img_metas)
        if not rescale:
            factors = scale_factors_tensor(img_metas[0], proposals[0])[:, 0]  # (B, 4)
            proposals = [torch.cat([p[:, :4] * f, p[:, 4:]], dim=1)
                         for p, f in zip(proposals, factors, strict=True)]
        return proposals

    def results_to_numpy(self, results: Sequence[Tensor]) -> list[np.ndarray]:
        """Per image, the float32 ``(n, 5)`` proposals as a numpy array."""
        return [proposals.float().cpu().numpy() for proposals in results]
